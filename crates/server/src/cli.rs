//! The `fieldbook-server` command line: `serve` and the admin commands (`team`, `user`,
//! `device`). Every command takes `--data DIR` (the embedded store, the default backend) or
//! `--database-url URL`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounts::{AccountError, Accounts};
use crate::blobs::Blobs;
use crate::http::{self, AppState};
use crate::store::{self, Location, Role, Store, StoreError};

#[derive(Debug, Parser)]
#[command(
    name = "fieldbook-server",
    version,
    about = "Fieldbook's back-office server and its admin commands"
)]
pub struct Cli {
    #[command(flatten)]
    pub location: LocationArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct LocationArgs {
    /// The data directory of the embedded store (SQLite database and blobs).
    #[arg(long, global = true, value_name = "DIR", env = "FIELDBOOK_SERVER_DATA")]
    pub data: Option<PathBuf>,
    /// A database URL (postgres://...) instead of the embedded store.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "FIELDBOOK_DATABASE_URL",
        hide_env_values = true,
        conflicts_with = "data"
    )]
    pub database_url: Option<String>,
}

impl LocationArgs {
    fn location(&self) -> Result<Location, String> {
        match (&self.data, &self.database_url) {
            (_, Some(url)) => Ok(Location::Url(url.clone())),
            (Some(dir), None) => Ok(Location::Data(dir.clone())),
            (None, None) => Err(
                "say where the server's data lives: --data DIR (embedded store) or \
                 --database-url URL"
                    .into(),
            ),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered devices.
    #[command(subcommand)]
    Device(DeviceCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How long a device's sign-in lasts before its user must sign in again, e.g. `90days`,
    /// `12h`. Revoke a lost device instead of waiting for this.
    #[arg(long, value_name = "DURATION", default_value = "90days", value_parser = humantime::parse_duration)]
    pub token_lifetime: std::time::Duration,
    /// Where photo blobs live: `file:///path` or `s3://bucket/prefix` (S3 settings and
    /// credentials from the usual AWS_* environment). Default with --data: DIR/blobs. A server
    /// on --database-url needs it to take photos.
    #[arg(long, value_name = "URL", env = "FIELDBOOK_BLOB_URL")]
    pub blob_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Add a team.
    Add { name: String },
    /// List the teams.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Officer,
    #[value(name = "team_leader", alias = "team-leader")]
    TeamLeader,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Officer => Role::Officer,
            RoleArg::TeamLeader => Role::TeamLeader,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password comes from FIELDBOOK_PASSWORD or a prompt.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The user's team (needed for officers and team leaders).
        #[arg(long)]
        team: Option<String>,
    },
    /// List the users.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List the registered devices.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its token stops working and the device wipes its data on next contact.
    Revoke {
        device_id: String,
        /// Shown to the device's user.
        #[arg(long)]
        reason: String,
    },
}

/// Runs the command line; the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fieldbook-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let location = cli.location.location()?;
    let store = store::open(&location).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve(args) => {
            let blobs = blobs(&location, args.blob_url.as_deref())?;
            serve(store, blobs, &args)
        }
        Command::Team(cmd) => team(store, cmd),
        Command::User(cmd) => user(store, cmd),
        Command::Device(cmd) => device(store, cmd),
    }
}

/// The photo blob store: `--blob-url`, else the data directory's `blobs/`. A PostgreSQL server
/// has no data directory: without `--blob-url` it serves everything but photos (the photo
/// endpoints answer 503 `photos_unavailable`), and says so in its log.
fn blobs(location: &Location, blob_url: Option<&str>) -> Result<Option<Blobs>, String> {
    let blobs = match (blob_url, location) {
        (Some(url), _) => Blobs::from_url(url),
        (None, Location::Data(dir)) => Blobs::local(&dir.join("blobs")),
        (None, Location::Url(_)) => return Ok(None),
    };
    blobs.map(Some).map_err(|e| e.to_string())
}

fn accounts(store: Arc<dyn Store>) -> Result<Accounts, String> {
    Accounts::new(store).map_err(|e| e.to_string())
}

fn text(e: AccountError) -> String {
    e.to_string()
}

fn print_json(value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

fn team(store: Arc<dyn Store>, cmd: TeamCommand) -> Result<(), String> {
    match cmd {
        TeamCommand::Add { name } => {
            let team = accounts(store)?.add_team(&name).map_err(text)?;
            println!("Added team {} ({})", team.name, team.id);
        }
        TeamCommand::List { json } => {
            let teams = store
                .read(|tx| tx.list_teams())
                .map_err(|e: StoreError| e.to_string())?;
            if json {
                return print_json(&teams);
            }
            for t in teams {
                println!("{}\t{}", t.id, t.name);
            }
        }
    }
    Ok(())
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("FIELDBOOK_PASSWORD") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Password: ").map_err(|e| {
        format!("cannot prompt for the password ({e}); set FIELDBOOK_PASSWORD instead")
    })?;
    crate::accounts::check_new_password(&first).map_err(text)?;
    let again = rpassword::prompt_password("Password again: ").map_err(|e| e.to_string())?;
    if first != again {
        return Err("the two passwords differ".into());
    }
    Ok(first)
}

fn user(store: Arc<dyn Store>, cmd: UserCommand) -> Result<(), String> {
    match cmd {
        UserCommand::Add { name, role, team } => {
            let password = read_password()?;
            let user = accounts(store)?
                .add_user(&name, role.into(), team.as_deref(), &password)
                .map_err(text)?;
            println!(
                "Added user {} ({}), role {}{}",
                user.name,
                user.id,
                user.role,
                user.team
                    .map(|t| format!(", team {}", t.name))
                    .unwrap_or_default()
            );
        }
        UserCommand::List { json } => {
            let users = store
                .read(|tx| tx.list_users())
                .map_err(|e: StoreError| e.to_string())?;
            if json {
                return print_json(&users);
            }
            println!("{:<36}  {:<20}  {:<11}  team", "person id", "name", "role");
            for u in users {
                println!(
                    "{:<36}  {:<20}  {:<11}  {}",
                    u.id,
                    u.name,
                    u.role.code(),
                    u.team.map(|t| t.name).unwrap_or_else(|| "-".into())
                );
            }
        }
    }
    Ok(())
}

fn device(store: Arc<dyn Store>, cmd: DeviceCommand) -> Result<(), String> {
    match cmd {
        DeviceCommand::List { json } => {
            let devices = store
                .read(|tx| tx.list_devices())
                .map_err(|e: StoreError| e.to_string())?;
            if json {
                return print_json(&devices);
            }
            println!(
                "{:<36}  {:>7}  {:<20}  {:<20}  status",
                "device id", "number", "name", "user"
            );
            for d in devices {
                let status = match (&d.device.revoked_at, &d.device.revoked_reason) {
                    (Some(_), reason) => {
                        format!("revoked: {}", reason.as_deref().unwrap_or_default())
                    }
                    (None, _) => "active".into(),
                };
                println!(
                    "{:<36}  {:>7}  {:<20}  {:<20}  {status}",
                    d.device.device_id, d.device.device_number, d.device.name, d.user_name
                );
            }
        }
        DeviceCommand::Revoke { device_id, reason } => {
            let device = accounts(store)?.revoke(&device_id, &reason).map_err(text)?;
            println!(
                "Revoked device {} ({}): {}",
                device.device_id,
                device.name,
                device.revoked_reason.unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn serve(store: Arc<dyn Store>, blobs: Option<Blobs>, args: &ServeArgs) -> Result<(), String> {
    init_logging();
    match &blobs {
        Some(b) => tracing::info!(blobs = b.place(), "photo blobs"),
        None => tracing::warn!(
            "no blob store: photos cannot be uploaded or fetched; start with --blob-url \
             file:///path or s3://bucket/prefix"
        ),
    }
    // One TLS implementation, chosen here rather than by whichever crates happen to be linked:
    // rustls refuses to guess when more than one provider is compiled in.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // The PostgreSQL store's connections are blocking clients, each with a runtime of its own,
    // which must not be dropped on the server's runtime: this handle, declared before the
    // runtime and so dropped after it, makes the store's last owner this thread.
    let _store_outlives_runtime = Arc::clone(&store);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot load the TLS certificate {} and key {}: {e}",
                            cert.display(),
                            key.display()
                        )
                    })?,
            ),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".to_string()),
        };
        if args.token_lifetime.is_zero() {
            return Err("--token-lifetime must be longer than zero".to_string());
        }
        let accounts = accounts(store)?.with_token_lifetime(args.token_lifetime);
        let listener = std::net::TcpListener::bind(args.listen)
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shutdown =
            http::shutdown_signal().map_err(|e| format!("cannot listen for signals: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(%addr, scheme, "listening");
        // Tests and scripts read this line to learn the port.
        println!("fieldbook-server listening on {scheme}://{addr}");
        let _ = std::io::stdout().flush();
        http::serve(
            listener,
            http::router(AppState { accounts, blobs }),
            tls,
            shutdown,
        )
        .await
        .map_err(|e| format!("the server failed: {e}"))?;
        tracing::info!("stopped");
        Ok(())
    })
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
