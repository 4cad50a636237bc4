//! `cv login [SERVER] -u USER (-p PASS | --password-stdin)` and `cv
//! logout [SERVER]`: the credentials go into the auth file `pull` and
//! `push` read (`containerv_image::registry::login`). Like docker, no
//! SERVER means Docker Hub. The credentials are not tried against the
//! registry here: a wrong password shows at the next pull or push.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use containerv_image::registry::login;

#[derive(Subcommand)]
pub enum TopLevel {
    /// Store the credentials of a registry.
    Login(LoginArgs),
    /// Remove the credentials of a registry.
    Logout {
        server: Option<String>,
        /// Auth file (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json).
        #[arg(long)]
        authfile: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct LoginArgs {
    server: Option<String>,
    #[arg(short, long)]
    username: Option<String>,
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Auth file (default: $REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json).
    #[arg(long)]
    authfile: Option<PathBuf>,
}

fn file(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given.or_else(login::default_login_file).context(
        "no auth file: set $HOME, $DOCKER_CONFIG or $REGISTRY_AUTH_FILE, or give --authfile",
    )
}

fn server_name(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "docker.io".into())
}

pub fn run(c: TopLevel) -> anyhow::Result<()> {
    match c {
        TopLevel::Login(a) => {
            let Some(user) = a.username.clone() else {
                bail!("login: give the user name with -u (cv does not prompt)");
            };
            let password = match (&a.password, a.password_stdin) {
                (Some(_), true) => bail!("login: --password and --password-stdin are exclusive"),
                (Some(p), false) => p.clone(),
                (None, true) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
                (None, false) => bail!("login: give the password with -p or --password-stdin"),
            };
            if password.is_empty() {
                bail!("login: empty password");
            }
            let path = file(a.authfile)?;
            login::store_login(&path, &server_name(&a.server), &user, &password)?;
            println!("Login Succeeded");
            Ok(())
        }
        TopLevel::Logout { server, authfile } => {
            let path = file(authfile)?;
            let name = server_name(&server);
            if login::remove_login(&path, &name)? {
                println!("Removing login credentials for {name}");
            } else {
                println!("Not logged in to {name}");
            }
            Ok(())
        }
    }
}
