//! The API as a real process: the release binary (`scripts/dev test` builds
//! it and sets `COOPMART_BIN`), started with the test settings on a port of
//! its own, readiness awaited like a load balancer would, and killable with
//! SIGKILL mid-request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `COOPMART_BIN`, else the workspace's release build.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("COOPMART_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/coopmart"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run `scripts/dev test` (it builds the release binary) \
         or `cargo build --release --bin coopmart`",
        path.display()
    );
    path
}

pub struct Instance {
    pub addr: SocketAddr,
    env: HashMap<String, String>,
    child: Option<Child>,
    log: PathBuf,
    dir: PathBuf,
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Instance {
    /// Starts `coopmart serve` with exactly `env` (plus PATH and its own
    /// BIND_ADDR) in an empty working directory (no `.env` is read), and
    /// waits until `/readyz` answers 200.
    pub async fn start(env: &HashMap<String, String>) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "coopmart-instance-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut env = env.clone();
        let addr = free_addr();
        env.insert("BIND_ADDR".into(), addr.to_string());
        env.insert("LOG_FORMAT".into(), "json".into());
        env.entry("RUST_LOG".into())
            .or_insert_with(|| "warn".into());
        let mut me = Self {
            addr,
            env,
            child: None,
            log: dir.join("server.log"),
            dir,
        };
        me.spawn();
        me.ready().await;
        me
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(binary())
            .arg("serve")
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Waits (60 s at most) for `/readyz` = 200: migrated, index built.
    pub async fn ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client
                .get(self.url("/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "instance on {} not ready after 60 s; its log:\n{}",
                self.addr,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no shutdown, in-flight requests cut off.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same address and waits for it.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.ready().await;
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
