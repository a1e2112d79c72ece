//! The `synclake` command: parses flags and runs one command of [`synclake::cli`].

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = synclake::cli::Cli::parse();
    synclake::cli::logging::init(cli.log_format);
    match synclake::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", synclake::cli::report::error_chain(&e));
            ExitCode::from(1)
        }
    }
}
