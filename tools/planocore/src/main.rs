//! `planocore`: the local CLI (CONTRACT §12).

mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "planocore", about = "PlanOcore Clients & Entities API: local server and tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route locally through the same handlers the Lambda functions run.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Fixture to load instead of the demo fixture (its tokens are not printed).
        #[arg(long)]
        seed: Option<PathBuf>,
        /// Where the data lives.
        #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
        store: StoreKind,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    /// An embedded in-memory store, loaded from the fixture at start.
    Memory,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::init_logging(true);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { addr, seed, store: StoreKind::Memory } => serve::run(addr, seed).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("planocore: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
