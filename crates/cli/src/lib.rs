//! `custos`: the AML/KYC compliance engine for crypto exchange services, in one binary.
//! The binary is `main.rs`; this library holds its commands, so that tests can assemble Custos
//! exactly as the binary does.

pub mod analyzers;
pub mod bench;
mod bench_watch;
pub mod bootstrap;
pub mod chains;
pub mod commands;
pub mod config;
pub mod kyc;
pub mod mail;
pub mod progress;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "custos",
    version,
    about = "Custos: AML/KYC screening of orders and deposits for crypto exchange services",
    long_about = "Custos gives every order a one-time deposit address, screens every deposit's sources with its \
                  analyzers, decides by the policy (proceed, review, hold, reject), opens cases with deadlines, and \
                  writes every step to a tamper-evident audit log.\n\nStart with `custos demo`."
)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// Directory for the SQLite database and local files [default: ./custos-data; ./custos-demo for `demo`]
    #[arg(long, global = true, env = "CUSTOS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data directory]
    #[arg(long, global = true, env = "CUSTOS_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Configuration file (see custos.example.toml)
    #[arg(long, global = true, env = "CUSTOS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the API server (production: refuses to start without a master key)
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080, or `listen` in the config]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Run a demo server on SQLite with the bundled labels and DEMO-ONLY keys; prints an API key
    Demo {
        /// Address to listen on
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Create or update the database schema
    Migrate,
    /// Screen one address and print the decision
    Screen {
        /// bitcoin, ethereum or tron
        network: String,
        /// The address to screen
        address: String,
        /// Print the same JSON object as POST /api/v1/screenings
        #[arg(long)]
        json: bool,
    },
    /// Manage the labels of the built-in analyzer
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Manage API keys
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Manage staff accounts of the back-office
    #[command(subcommand)]
    User(UserCommand),
    /// Check the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Master keys (SEC-6): make one, re-seal the data after a rotation, see what each key seals
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Customers' personal data
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Move cleared deposits to the service's verified wallets (ADDR-2, ADDR-5)
    #[command(subcommand)]
    Consolidate(ConsolidateCommand),
    /// Custos's optional signer (off unless `[signer.ethereum]` is configured)
    #[command(subcommand)]
    Signer(SignerCommand),
    /// Disclosure bundles handed to authorities (DISC-1)
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Measure performance
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Subcommand)]
pub enum BundleCommand {
    /// Verify a bundle (an unpacked BagIt bag): every file against its manifest, nothing
    /// unlisted, and the Ed25519 signature of the tag manifest by this installation's bundle key
    /// (under the current or a previous master key) or by --public-key; exits non-zero if not
    Verify {
        /// The bag's directory
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The signer's public key in hex, as the back-office shows it [default: this
        /// installation's, from its master keys]
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
    /// Print this installation's bundle public key (give it to whoever receives bundles)
    PublicKey,
}

#[derive(Subcommand)]
pub enum LabelsCommand {
    /// Import labels: GraphSense TagPacks, OFAC SDN per-asset lists, or CSV
    /// (network,address,category,label,source,confidence). Re-importing a source replaces it.
    Import {
        /// Files or directories to import
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The format [default: guessed from each path]
        #[arg(long, value_enum)]
        format: Option<commands::FormatArg>,
    },
    /// Show the label sources and their counts
    Stats {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ApikeyCommand {
    /// Create an API key; prints the key alone on the last line (it is shown only once)
    Create {
        /// A name to recognise the key by
        #[arg(long)]
        name: String,
        /// Scopes, at least one (repeatable): screenings:create, orders:create, orders:read,
        /// deposits:create, payouts:manage, webhooks:manage, metrics:read; and, for compliance work
        /// (only from here, never from the back-office), cases:manage, requests:answer
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a staff account. The password is read from the first line of standard input (or
    /// CUSTOS_USER_PASSWORD), never from the command line; MFA is set up at the first login.
    Create {
        /// The staff member's e-mail (their login)
        #[arg(long)]
        email: String,
        /// support, auditor, officer, senior_officer or admin
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (32 bytes, base64). To rotate: make it secrets.master_key,
    /// move the old one to secrets.previous_keys, restart, run `custos keys rotate`, check
    /// `custos keys status`, then drop the old key
    New,
    /// Seal every value still under a previous key again under the current master key. Safe
    /// while the server runs (which also does it in the background after a restart); repeatable
    Rotate {
        /// Rows read per query
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        batch: i64,
    },
    /// Count the sealed values per column and key id
    Status,
}

#[derive(Subcommand)]
pub enum ConsolidateCommand {
    /// Print, as JSON for the operator's signer, the unsigned transactions that sweep every
    /// cleared deposit into a verified wallet (`[consolidation.ethereum]`: transaction requests;
    /// `[consolidation.bitcoin]`: a PSBT), and the deposits left where they are with the reason
    Plan {
        /// ethereum, or bitcoin (a PSBT for the signer)
        #[arg(long, default_value = "ethereum")]
        network: String,
        /// The destination: one of the network's verified wallets [default: the first]
        #[arg(long)]
        wallet: Option<String>,
        /// Ethereum: gas price in gwei [default: consolidation.ethereum.gas_price_gwei, or 20]
        #[arg(long)]
        gas_price_gwei: Option<u64>,
        /// Bitcoin: fee rate in sat/vB [default: consolidation.bitcoin.fee_rate, or 10]
        #[arg(long)]
        fee_rate: Option<u64>,
    },
    /// Plan and send the Ethereum sweeps with Custos's own signer (`[signer.ethereum]`)
    Execute {
        /// The destination: one of `consolidation.ethereum.wallets` [default: the first]
        #[arg(long)]
        wallet: Option<String>,
        /// Gas price in gwei [default: consolidation.ethereum.gas_price_gwei, or 20]
        #[arg(long)]
        gas_price_gwei: Option<u64>,
    },
    /// Record the transaction that swept a deposit (as the signer reports it)
    Record {
        /// The deposit's id (from the plan)
        #[arg(long)]
        deposit: uuid::Uuid,
        /// The sweep's transaction hash
        #[arg(long)]
        txid: String,
    },
}

#[derive(Subcommand)]
pub enum SignerCommand {
    /// Seal the Ethereum account key (xprv of m/44'/60'/0', read from standard input, never from
    /// the command line) with the master key into FILE, for `[signer.ethereum] key_file`
    Import {
        /// Where to write the sealed key (mode 0600)
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Send an approved ether refund from its deposit address to the chosen source, less only
    /// the network fee, and record it as sent
    Refund {
        /// The refund's id
        #[arg(long)]
        refund: uuid::Uuid,
    },
    /// Pay out an order in ether from the hot wallet (0/gas_index), once its destination was
    /// screened clean (`payout_pending`), and complete it
    Payout {
        /// The order's id
        #[arg(long)]
        order: uuid::Uuid,
        /// Gas price in gwei [default: consolidation.ethereum.gas_price_gwei, or 20]
        #[arg(long)]
        gas_price_gwei: Option<u64>,
    },
}

#[derive(Subcommand)]
pub enum CustomerCommand {
    /// Erase a customer's personal data by deleting their data key, where the law allows: nothing
    /// of theirs open and `privacy.retention_years` past their last order. Orders, screenings and
    /// the audit log stay, without personal data. Irreversible
    Erase {
        /// The customer's e-mail
        #[arg(long)]
        email: String,
        /// Confirm: without it nothing is erased
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exits non-zero naming the first bad entry
    Verify,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = std::env::var("CUSTOS_LOG").unwrap_or_else(|_| "info".into());
    let level = filter.parse::<tracing::Level>().unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let cfg = config::Config::load(cli.global.config.as_deref())?;
    let g = cli.global;
    match cli.command {
        Command::Serve { listen } => commands::serve(&cfg, g, listen).await,
        Command::Demo { listen } => commands::demo(cfg, g, listen).await,
        Command::Migrate => commands::migrate(&cfg, g).await,
        Command::Screen { network, address, json } => commands::screen(&cfg, g, &network, &address, json).await,
        Command::Labels(c) => commands::labels(&cfg, g, c).await,
        Command::Apikey(c) => commands::apikey(&cfg, g, c).await,
        Command::User(c) => commands::user(&cfg, g, c).await,
        Command::Keys(c) => commands::keys(&cfg, g, c).await,
        Command::Customer(c) => commands::customer(&cfg, g, c).await,
        Command::Consolidate(c) => commands::consolidate(&cfg, g, c).await,
        Command::Signer(c) => commands::signer(&cfg, g, c).await,
        Command::Audit(AuditCommand::Verify) => commands::audit_verify(&cfg, g).await,
        Command::Bundle(c) => commands::bundle(&cfg, c),
        Command::Bench(c) => bench::run(&cfg, g, c).await,
    }
}
