//! `planocore`: the local CLI (docs/api.md#local-cli).

mod admin;
mod failure;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "planocore", about = "PlanOcore Clients & Entities API: local server and tools")]
#[command(after_help = "Environment: TABLE_NAME (default planocore), DYNAMODB_ENDPOINT, AWS_REGION, RUST_LOG")]
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
        /// Fixture to load (the memory store loads the demo fixture without it; its tokens are
        /// not printed).
        #[arg(long)]
        seed: Option<PathBuf>,
        /// Where the data lives.
        #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
        store: StoreKind,
        /// A browser origin allowed to call the API (CORS), repeatable: an exact origin,
        /// `scheme://host:*` for any port, or `*`. Default: http://localhost:* and http://127.0.0.1:*.
        #[arg(long = "cors-origin", value_name = "ORIGIN", env = "PLANOCORE_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
    },
    /// The DynamoDB table.
    Table {
        #[command(subcommand)]
        action: TableAction,
    },
    /// Write a fixture's missing records into the DynamoDB table (existing ones are left as
    /// they are), raise the id counters, sync the routes.
    Seed {
        file: PathBuf,
        /// Replace existing records with the fixture's (passwords, sessions, API-made records).
        #[arg(long)]
        overwrite: bool,
    },
    /// The route registry (route names like clients.update).
    Routes {
        #[command(subcommand)]
        action: RoutesAction,
    },
    /// The service records (service names like clients).
    Services {
        #[command(subcommand)]
        action: ServicesAction,
    },
}

#[derive(Subcommand)]
enum TableAction {
    /// Create the table with the same schema as template.yaml.
    Create,
}

#[derive(Subcommand)]
enum RoutesAction {
    /// Create the missing route and service records as deployed; existing ones are left alone.
    Sync {
        /// Reset every record to deployed.
        #[arg(long)]
        force: bool,
    },
    /// Show every route with its record and its service's record.
    List,
    /// Take a route out of service (the kill switch).
    Disable { route: String },
    /// Put a route back into service.
    Enable { route: String },
}

#[derive(Subcommand)]
enum ServicesAction {
    Disable { service: String },
    Enable { service: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum StoreKind {
    /// An embedded in-memory store, loaded from the fixture at start.
    Memory,
    /// The DynamoDB table named by TABLE_NAME (at DYNAMODB_ENDPOINT, if set).
    Dynamodb,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = app::config::settings();
    app::logging::init(&settings, true);
    let settings = &settings;
    let result = match Cli::parse().command {
        Command::Serve { addr, seed, store, cors_origins } => {
            serve::run(settings, addr, seed, store, &cors_origins).await
        }
        Command::Table { action: TableAction::Create } => admin::table_create(settings).await,
        Command::Seed { file, overwrite } => admin::seed(settings, &file, overwrite).await,
        Command::Routes { action } => match action {
            RoutesAction::Sync { force } => admin::routes_sync(settings, force).await,
            RoutesAction::List => admin::routes_list(settings).await,
            RoutesAction::Disable { route } => admin::set_route(settings, &route, false).await,
            RoutesAction::Enable { route } => admin::set_route(settings, &route, true).await,
        },
        Command::Services { action } => match action {
            ServicesAction::Disable { service } => admin::set_service(settings, &service, false).await,
            ServicesAction::Enable { service } => admin::set_service(settings, &service, true).await,
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("planocore: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
