fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(claw_gen::main_with(std::env::args_os()))
}
