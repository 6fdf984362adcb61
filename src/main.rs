use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = claw::cli::Cli::parse();
    std::process::ExitCode::from(claw::app::main(cli))
}
