//! Real database servers for the tests, from Debian's `postgresql` and
//! `mariadb-server` packages (scripts/setup.sh installs them): each in a temp
//! folder of its own, on a free port on 127.0.0.1, stopped when dropped, like
//! `Redis`. Both start empty in a second or two.

use super::{PATIENCE, free_port};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Test processes often run as root (containers, CI); PostgreSQL refuses to,
/// so its commands then run as the `postgres` user the package created.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Where a server writes its log: a file in its folder, shown when it fails.
fn log_file(dir: &Path, name: &str) -> (PathBuf, Stdio) {
    let path = dir.join(name);
    let file = File::create(&path).expect("create log file");
    (path, Stdio::from(file))
}

/// What a database client printed, trimmed; fails with its error output.
fn rows(output: &std::process::Output, client: &str) -> String {
    assert!(
        output.status.success(),
        "{client} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Polls `ready` until it is true; fails with the server's log if the server
/// exits or takes longer than `PATIENCE`.
fn wait_until(name: &str, child: &mut Child, log: &Path, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited ({status}):\n{}", read_log(log));
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{name} did not start:\n{}",
            read_log(log)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A PostgreSQL server of our own: superuser `postgres`, database `postgres`,
/// trust authentication, fsync off.
pub struct Postgres {
    pub port: u16,
    child: Child,
    bin: PathBuf,
    /// The data folder, removed when the server is dropped.
    _dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Self {
        let bin = postgres_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = running_as_root();
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(chown.success(), "could not give the temp dir to postgres");
        }
        let data = dir.path().join("data");
        let initdb = postgres_command(&bin.join("initdb"), as_postgres)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
            ])
            .args(["-E", "UTF8", "--locale=C"])
            .current_dir(dir.path())
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );

        let port = free_port();
        let (log, stderr) = log_file(dir.path(), "postgres.log");
        // The Unix socket goes in the temp dir too (-k): /run/postgresql may
        // not exist or not be ours.
        let child = postgres_command(&bin.join("postgres"), as_postgres)
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-F",
                "-k",
            ])
            .arg(dir.path())
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start postgres");
        let mut server = Postgres {
            port,
            child,
            bin,
            _dir: dir,
        };
        // The port opens before the server accepts sessions; pg_isready knows.
        let (bin, port) = (server.bin.clone(), port.to_string());
        wait_until("postgres", &mut server.child, &log, || {
            Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port])
                .status()
                .is_ok_and(|s| s.success())
        });
        server
    }

    /// The variables `pg` (like `psql`) reads to connect here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", "127.0.0.1".to_owned()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", "postgres".to_owned()),
            ("PGDATABASE", "postgres".to_owned()),
        ]
    }

    /// Runs `sql` with `psql`, for checking what the app wrote; returns the
    /// rows unaligned, `|` between fields, one per line.
    pub fn psql(&self, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .envs(self.env())
            .output()
            .expect("run psql");
        rows(&output, "psql")
    }
}

impl Drop for Postgres {
    /// A fast shutdown (SIGINT) rather than SIGKILL, so the server removes its
    /// System V shared memory instead of leaking it on every test run.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` (Debian puts them there,
/// off the PATH).
fn postgres_bin() -> PathBuf {
    let versions = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh installs postgresql)");
    let newest = versions
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .max()
        .expect("a PostgreSQL version in /usr/lib/postgresql");
    PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"))
}

/// `program` as the `postgres` user when we are root. setpriv execs it
/// directly (no forking wrapper like runuser), so the child we hold is the
/// server itself and signals reach it.
fn postgres_command(program: &Path, as_postgres: bool) -> Command {
    if !as_postgres {
        return Command::new(program);
    }
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
    command
}

/// A MariaDB server of our own: user `root` without a password over TCP, and
/// an empty database `ssrt`.
pub struct MariaDb {
    pub port: u16,
    child: Child,
    /// The data folder, removed when the server is dropped.
    _dir: tempfile::TempDir,
}

/// The database `MariaDb::start` creates for the app.
pub const MARIADB_DATABASE: &str = "ssrt";

impl MariaDb {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let as_root = running_as_root();
        // `normal` root authentication: a password (empty) rather than the
        // unix_socket plugin, so npm `mysql` can log in over TCP.
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ]);
        if as_root {
            install.arg("--user=root");
        }
        let installed = install
            .current_dir(dir.path())
            .output()
            .expect("mariadb-install-db is installed (scripts/setup.sh installs mariadb-server)");
        assert!(
            installed.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&installed.stdout),
            String::from_utf8_lossy(&installed.stderr)
        );

        let port = free_port();
        let (log, stderr) = log_file(dir.path(), "mariadb.log");
        let mut command = Command::new(mariadbd());
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                dir.path().join("mariadb.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mariadb.pid").display()
            ))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-networking=0",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
            ]);
        if as_root {
            command.arg("--user=root");
        }
        let child = command
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start mariadbd");
        let mut server = MariaDb {
            port,
            child,
            _dir: dir,
        };
        // Creating the database is also the readiness check: it succeeds
        // once the server takes logins.
        let create = format!("CREATE DATABASE IF NOT EXISTS {MARIADB_DATABASE}");
        let port = server.port;
        wait_until("mariadbd", &mut server.child, &log, || {
            client(port, None, &create).status.success()
        });
        server
    }

    /// The variables config/db.coffee of the `node` fixture reads.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MYSQL_HOST", "127.0.0.1".to_owned()),
            ("MYSQL_PORT", self.port.to_string()),
            ("MYSQL_USER", "root".to_owned()),
            ("MYSQL_DATABASE", MARIADB_DATABASE.to_owned()),
        ]
    }

    /// Runs `sql` in the `ssrt` database with the `mariadb` client, for
    /// checking what the app wrote; rows tab-separated, one per line.
    pub fn query(&self, sql: &str) -> String {
        rows(&client(self.port, Some(MARIADB_DATABASE), sql), "mariadb")
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian keeps the server in /usr/sbin, which is not on every PATH.
fn mariadbd() -> PathBuf {
    ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("mariadbd"))
}

fn client(port: u16, database: Option<&str>, sql: &str) -> std::process::Output {
    let mut command = Command::new("mariadb");
    command
        .arg("--no-defaults")
        .args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
        .args(["--batch", "--skip-column-names", "-e", sql]);
    if let Some(database) = database {
        command.arg(database);
    }
    command.output().expect("the mariadb client is installed")
}
