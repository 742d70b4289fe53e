//! A private PostgreSQL server for tests that restart or stop the database
//! without disturbing the shared one. `initdb` and `pg_ctl` refuse to run as
//! root, so as root they run as the `postgres` user (scripts/dev creates it
//! with the Debian packages). The server logs to a file (`pg_ctl -l`): a
//! postmaster logging into a pipe that closes takes its backends down.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct PgProcess {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server packages (scripts/dev installs them)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("a PostgreSQL bin directory")
}

impl PgProcess {
    /// A free loopback port and a directory the server's user owns.
    fn prepare() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("coopmart-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:", dir.to_str().unwrap()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown the private PostgreSQL directory to postgres");
        }
        Self {
            port,
            dir,
            bin: bin_dir(),
        }
    }

    /// A streaming replica of `primary` (pg_basebackup -R: hot standby,
    /// WAL streamed), started on a port of its own.
    pub fn replica_of(primary: &PgProcess) -> Self {
        let pg = Self::prepare();
        let data = pg.data();
        let port = primary.port.to_string();
        pg.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "coopmart",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
        );
        pg.ctl(&["start"]);
        pg
    }

    /// Runs `sql` in database `db`.
    pub fn exec(&self, db: &str, sql: &str) {
        use diesel::{sql_query, Connection, RunQueryDsl};
        let mut conn = diesel::pg::PgConnection::establish(&self.url(db)).unwrap();
        sql_query(sql).execute(&mut conn).unwrap();
    }

    /// The single bigint `sql` returns in database `db`.
    pub fn count(&self, db: &str, sql: &str) -> i64 {
        use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = diesel::pg::PgConnection::establish(&self.url(db)).unwrap();
        sql_query(format!("SELECT ({sql})::bigint AS n"))
            .get_result::<N>(&mut conn)
            .unwrap()
            .n
    }

    /// initdb + start on a free loopback port (trust auth, fsync off).
    pub fn start() -> Self {
        let pg = Self::prepare();
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "coopmart",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        pg.ctl(&["start"]);
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// A server tool, run as `postgres` when we are root.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.data();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=100",
            self.port
        );
        let mut all = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    /// `pg_ctl restart -m fast`: every connection is terminated.
    pub fn restart(&self) {
        self.ctl(&["-m", "fast", "restart"]);
    }

    pub fn stop(&self) {
        self.ctl(&["-m", "fast", "stop"]);
    }

    pub fn resume(&self) {
        self.ctl(&["start"]);
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://coopmart@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db` (empty).
    pub fn create_db(&self, db: &str) {
        use diesel::{sql_query, Connection, RunQueryDsl};
        let mut conn = diesel::pg::PgConnection::establish(&self.url("postgres")).unwrap();
        sql_query(format!("CREATE DATABASE {db}"))
            .execute(&mut conn)
            .unwrap();
    }
}

impl Drop for PgProcess {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
