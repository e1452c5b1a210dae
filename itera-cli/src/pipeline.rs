//! From an experiment file to the library's typestate: the judge, the arms (every recorded
//! version), the rows, and the walk `register → split → pilot → score_dev → [iterations] → gate
//! → seal → verdict` on an experiment directory. Every step finds its journaled result and makes
//! no new calls, so running the same walk again resumes it.
//!
//! The directory keeps what the CLI needs to resume without the user's file:
//! - `experiment.toml`: a copy of the experiment file as first run (the version-0 arms);
//! - `experiment.json`: where it came from (absolute path, the directory relative paths start
//!   from) and the copy's SHA-256 (an edited copy is refused);
//! - `versions/<arm>-<spec hash>.toml`: the `[[arms]]` table of each iterated version.

pub use crate::assemble::{build_arm, build_arms, build_judge};
use crate::config::{ArmSection, Loaded};
use crate::error::CliError;
use itera_core::data::load::load_path;
use itera_core::iterate::iteration::Ledger;
use itera_core::{
    Arm, Conclusion, Experiment, Frame, Judge, Lineup, Row, RowId, RunOptions, Scored, Store,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The copy of the experiment file inside the directory.
pub const COPY_FILE: &str = "experiment.toml";
/// Where the copy came from, and its hash.
pub const META_FILE: &str = "experiment.json";
/// Iterated arm versions.
pub const VERSIONS_DIR: &str = "versions";

/// `experiment.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// The experiment file as first run (absolute).
    pub source: PathBuf,
    /// The directory relative paths in it start from (absolute).
    pub base_dir: PathBuf,
    /// SHA-256 of `experiment.toml`.
    pub sha256: String,
}

/// Everything a walk needs, built from an experiment file.
pub struct Setup {
    /// The file.
    pub loaded: Loaded,
    /// The frame it registers.
    pub frame: Frame,
    /// The rows.
    pub rows: Vec<Row>,
    /// The data file (re-read at the verdict, G7).
    pub data_path: PathBuf,
    /// The judge (shared: the lineup the walk binds at the pilot holds it too).
    pub judge: Arc<dyn Judge>,
    /// How calls run.
    pub opts: RunOptions,
    /// The spent-test ledger (`--spent-ledger`); `None`: `.itera-spent-tests.jsonl` in the
    /// parent of the experiment directory (G15).
    pub spent_ledger: Option<PathBuf>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("file", &self.loaded.path)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// The frame the file registers, with an LLM judge's rubric locked into it (G8) when the file
/// gives none.
pub fn registered_frame(loaded: &Loaded) -> Result<Frame, CliError> {
    let mut frame = loaded.frame()?;
    if loaded.file.metric.scorer == "llm" && loaded.file.metric.rubric.is_some() {
        // One rubric, where the judge reads it: two places could disagree with what is locked.
        return Err(loaded
            .error(
                "metric.rubric",
                "with scorer = \"llm\" the rubric is [metric.llm] rubric (it is locked into the registration from there, G8): remove [metric] rubric",
            )
            .into());
    }
    if loaded.file.metric.scorer == "llm" {
        // The registration names the judge itself (G8): its id (`llm:<model>` or the configured
        // id) and its locked judging text, which every phase checks the judge against.
        let judge = build_judge(loaded)?;
        frame.metric.scorer = judge.id().to_string();
        if frame.metric.rubric.is_none() {
            frame.metric.rubric = judge.rubric().map(str::to_string);
        }
    }
    Ok(frame)
}

/// Reads the rows, builds the frame, judge and options.
pub async fn setup(loaded: Loaded) -> Result<Setup, CliError> {
    let frame = registered_frame(&loaded)?;
    let data_path = loaded.resolve(&loaded.file.data.path);
    let ds =
        load_path(&data_path, loaded.columns()).map_err(|e| loaded.error("data", e.to_string()))?;
    let rows = ds
        .rows()
        .await
        .map_err(|e| loaded.error("data", e.to_string()))?;
    let judge: Arc<dyn Judge> = build_judge(&loaded)?.into();
    let mut opts = loaded.run_options()?;
    // The CLI draws the charts after every verdict (run.rs, `render_report`), so conclusion.md
    // embeds them.
    opts.charts = true;
    if let Some(cfg) = &loaded.file.metric.second_judge {
        let j = itera_core::builtin::llm_judge::LlmJudge::new(cfg)
            .map_err(|e| loaded.error("metric.second_judge", e))?;
        opts.second_judge = Some(Arc::new(j));
    }
    Ok(Setup {
        loaded,
        frame,
        rows,
        data_path,
        judge,
        opts,
        spent_ledger: None,
    })
}

/// Whether `dir` holds a journal.
pub fn is_experiment_dir(dir: &Path) -> bool {
    dir.join(itera_core::journal::store::JOURNAL_FILE).is_file()
}

/// Opens an existing experiment directory (refusing a missing one: `Store::dir` would create it).
pub fn open_existing(dir: &Path) -> Result<Store, CliError> {
    if !is_experiment_dir(dir) {
        return Err(CliError::bad(format!(
            "{} is not an experiment directory (no journal.jsonl): give the directory `itera run` wrote",
            dir.display()
        )));
    }
    Store::dir(dir).map_err(|e| CliError::from(e).context(dir.display()))
}

/// Opens an existing experiment directory to read it (`status`, `verify`, `plan --pilot`):
/// without the lock, so it works while another process is writing the directory.
pub fn open_read_only(dir: &Path) -> Result<Store, CliError> {
    open_read_only_with(dir, |_| {})
}

/// [`open_read_only`], handing every entry of the verified opening pass to `visit`
/// ([`Store::read_only_with`]: `itera status` reads the journal in that one pass).
pub fn open_read_only_with(
    dir: &Path,
    visit: impl FnMut(&itera_core::Entry),
) -> Result<Store, CliError> {
    if !is_experiment_dir(dir) {
        return Err(CliError::bad(format!(
            "{} is not an experiment directory (no journal.jsonl): give the directory `itera run` wrote",
            dir.display()
        )));
    }
    Store::read_only_with(dir, visit).map_err(|e| CliError::from(e).context(dir.display()))
}

/// Takes the directory's exclusive lock for a writing command's whole life (G1): a second
/// process exits 1 at once with "busy: pid N has held DIR since T". A lock left by a process
/// that died is taken over, and said so on stderr.
pub fn hold(dir: &Path) -> Result<itera_core::journal::lock::DirLock, CliError> {
    let lock = itera_core::journal::lock::DirLock::acquire(dir).map_err(CliError::from)?;
    if let Some(said) = lock.took_over() {
        eprintln!("itera: {said}");
    }
    Ok(lock)
}

/// [`hold`] for a command on an existing directory: a missing one is not created (the command
/// then says it is not an experiment directory).
pub fn hold_existing(dir: &Path) -> Result<Option<itera_core::journal::lock::DirLock>, CliError> {
    if dir.is_dir() {
        hold(dir).map(Some)
    } else {
        Ok(None)
    }
}

/// Keeps a copy of the experiment file in the directory, once (the version-0 arms).
pub fn save_copy(dir: &Path, loaded: &Loaded) -> Result<(), CliError> {
    let copy = dir.join(COPY_FILE);
    if copy.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::run(format!("cannot create {}: {e}", dir.display())))?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let meta = Meta {
        source: abs(&loaded.path),
        base_dir: abs(&loaded.base_dir),
        sha256: loaded.sha256.clone(),
    };
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| CliError::run(e.to_string()))?;
    std::fs::write(dir.join(META_FILE), json)
        .and_then(|()| std::fs::write(&copy, loaded.text.as_bytes()))
        .map_err(|e| CliError::run(format!("cannot write {}: {e}", copy.display())))
}

/// Reads `experiment.json`.
pub fn read_meta(dir: &Path) -> Result<Meta, CliError> {
    let path = dir.join(META_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        CliError::bad(format!(
            "{}: {e}; this directory has no copy of its experiment file: pass --experiment FILE",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::bad(format!("{} is not an itera file: {e}", path.display())))
}

/// The experiment file kept in the directory (refused when it was edited).
pub fn load_copy(dir: &Path) -> Result<Loaded, CliError> {
    let meta = read_meta(dir)?;
    let copy = dir.join(COPY_FILE);
    let text = std::fs::read_to_string(&copy).map_err(|e| {
        CliError::bad(format!(
            "{}: {e}; pass the experiment file with --experiment FILE",
            copy.display()
        ))
    })?;
    let found = crate::hex_sha256(text.as_bytes());
    if found != meta.sha256 {
        return Err(CliError::bad(format!(
            "{} was edited after the run started (SHA-256 {found}, recorded {}): restore it, or pass the file with --experiment FILE",
            copy.display(),
            meta.sha256
        )));
    }
    Ok(Loaded::parse(&copy, &meta.base_dir, text)?)
}

/// The experiment file for a directory: `--experiment FILE` when given, else the kept copy.
pub fn load_for_dir(dir: &Path, experiment: Option<&Path>) -> Result<Loaded, CliError> {
    match experiment {
        Some(p) => Ok(Loaded::read(p)?),
        None => load_copy(dir),
    }
}

/// Saves an iterated version's `[[arms]]` table.
pub fn save_version(
    dir: &Path,
    arm: &str,
    spec_hash: &str,
    table: &toml::Value,
) -> Result<(), CliError> {
    let vdir = dir.join(VERSIONS_DIR);
    std::fs::create_dir_all(&vdir)
        .map_err(|e| CliError::run(format!("cannot create {}: {e}", vdir.display())))?;
    let mut doc = toml::Table::new();
    doc.insert("arms".into(), toml::Value::Array(vec![table.clone()]));
    let text = toml::to_string(&doc).map_err(|e| CliError::run(e.to_string()))?;
    let short: String = spec_hash.chars().take(16).collect();
    let path = vdir.join(format!("{arm}-{short}.toml"));
    std::fs::write(&path, text)
        .map_err(|e| CliError::run(format!("cannot write {}: {e}", path.display())))
}

/// Every arm implementation a directory knows: version 0 (from the kept copy, or `loaded` on a
/// first run), the arms of `loaded`, and each saved version.
pub struct Pool {
    /// Version 0 of every arm, baseline first.
    pub v0: Vec<Box<dyn Arm>>,
    /// Other versions.
    pub others: Vec<Box<dyn Arm>>,
    /// (id, spec hash) of each arm as the given file defines it.
    pub current: Vec<(String, String)>,
}

impl Pool {
    /// Finds the implementation of (arm, spec hash).
    pub fn find(&self, arm: &str, spec_hash: &str) -> Option<&dyn Arm> {
        self.v0
            .iter()
            .chain(&self.others)
            .find(|a| a.id() == arm && crate::hex_sha256(a.spec().as_bytes()) == spec_hash)
            .map(|a| a.as_ref())
    }

    /// Every implementation (for the verdict, which picks the locked versions).
    pub fn all(self) -> Vec<Box<dyn Arm>> {
        let mut v = self.v0;
        v.extend(self.others);
        v
    }

    /// Takes the implementation of (arm, spec hash) out of the later versions.
    pub fn take(&mut self, arm: &str, spec_hash: &str) -> Option<Box<dyn Arm>> {
        let at = self
            .others
            .iter()
            .position(|a| a.id() == arm && crate::hex_sha256(a.spec().as_bytes()) == spec_hash)?;
        Some(self.others.remove(at))
    }

    /// The lineup the walk binds at the pilot: version 0 of every arm as registered, the later
    /// versions as recorded (the verdict finds the locked ones there), the judge and options.
    pub fn into_lineup(self, setup: &Setup) -> Lineup {
        Lineup::with_judge(setup.judge.clone())
            .arms(self.v0)
            .recorded_versions(self.others)
            .options(setup.opts.clone())
    }
}

/// Builds the pool for a walk on `dir` with the file `setup.loaded`.
pub fn pool(dir: &Path, setup: &Setup) -> Result<Pool, CliError> {
    let current = build_arms(&setup.loaded, &setup.frame, &setup.rows)?;
    let current_keys: Vec<(String, String)> = current
        .iter()
        .map(|a| (a.id().to_string(), crate::hex_sha256(a.spec().as_bytes())))
        .collect();
    let copy = if dir.join(COPY_FILE).exists() {
        Some(load_copy(dir)?)
    } else {
        None
    };
    let (v0, mut others) = match copy {
        Some(c) if c.sha256 != setup.loaded.sha256 => {
            (build_arms(&c, &setup.frame, &setup.rows)?, current)
        }
        _ => (current, Vec::new()),
    };
    let vdir = dir.join(VERSIONS_DIR);
    if let Ok(read) = std::fs::read_dir(&vdir) {
        let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| CliError::run(format!("cannot read {}: {e}", p.display())))?;
            let doc: VersionFile = toml::from_str(&text).map_err(|e| {
                CliError::bad(format!("{} is not an arm version: {e}", p.display()))
            })?;
            let ids: Vec<RowId> = setup.rows.iter().map(|r| r.id.clone()).collect();
            for (i, a) in doc.arms.iter().enumerate() {
                let mut l = setup.loaded.clone();
                l.path = p.clone();
                others.push(build_arm(&l, i, a, &ids, setup.frame.trials)?);
            }
        }
    }
    Ok(Pool {
        v0,
        others,
        current: current_keys,
    })
}

#[derive(Deserialize)]
struct VersionFile {
    arms: Vec<ArmSection>,
}

/// The journal's entries.
pub fn entries(store: &Store) -> Result<Vec<itera_core::Entry>, CliError> {
    store.entries().map_err(CliError::from)
}

/// Whether the journal holds a verdict.
pub fn has_verdict(store: &Store) -> Result<bool, CliError> {
    // Known from the verified opening pass: no second read of the journal (#17).
    Ok(store.concluded().is_some())
}

/// Checks that the file registers the frame the directory holds.
pub fn check_frame(store: &Store, frame: &Frame, file: &Path) -> Result<(), CliError> {
    let Some(reg) = store.registration()? else {
        return Ok(());
    };
    let given = itera_core::hash::hash_value(frame).map_err(|e| CliError::run(e.to_string()))?;
    // G7: enforced here (the CLI names the file); removing this check fails
    // itera-cli/tests/guards_enforced.rs::drifted_threshold_rerun_in_the_same_directory_exits_2_naming_the_file
    if reg.frame_hash != given {
        return Err(CliError::bad(format!(
            "{}: its frame (question, arms, metric, threshold, rules) differs from the one registered in {} (G7): restore the file, or start a new experiment in a new directory",
            file.display(),
            store
                .location()
                .map_or_else(String::new, |p| p.display().to_string())
        )));
    }
    Ok(())
}

/// Rows handed to the split as they are, not copied (a `VecDataset` clones its rows for each
/// read: the split of a 100k-row run held a second copy, #17). The split reads a dataset once;
/// a second read would find no rows, which the split refuses.
struct Handed {
    name: String,
    rows: std::sync::Mutex<Vec<Row>>,
}

#[itera_core::prelude::async_trait]
impl itera_core::Dataset for Handed {
    fn describe(&self) -> String {
        self.name.clone()
    }
    async fn rows(&self) -> Result<Vec<Row>, itera_core::DataError> {
        let mut rows = self
            .rows
            .lock()
            .map_err(|_| itera_core::DataError::Other("the rows' lock was poisoned".into()))?;
        Ok(std::mem::take(&mut *rows))
    }
}

/// Walks a directory to `Scored`: register, split, pilot, dev scoring, then every recorded
/// iteration (rebuilt from the journal without calls). Only what is missing is called.
///
/// `rows` are the setup's rows, moved in: the split keeps them, and a caller with no further use
/// for them passes `std::mem::take(&mut setup.rows)` so the run does not hold them twice (#17).
pub async fn to_scored(
    dir: &Path,
    setup: &Setup,
    mut pool: Pool,
    rows: Vec<Row>,
) -> Result<Experiment<Scored>, CliError> {
    let mut store = Store::dir(dir).map_err(|e| CliError::from(e).context(dir.display()))?;
    if let Some(ledger) = &setup.spent_ledger {
        store = store.with_spent_ledger(ledger);
    }
    let exp = Experiment::new(setup.frame.clone())
        .map_err(|e| CliError::bad(format!("{}: {e}", setup.loaded.path.display())))?;
    let exp = exp.register(store)?;
    let describe = format!(
        "{} ({})",
        setup.loaded.file.data.path,
        setup.data_path.display()
    );
    let ds = Handed {
        name: describe,
        rows: std::sync::Mutex::new(rows),
    };
    let exp = exp.split(&ds).await?;
    tracing::info!(
        "split: {} train, {} dev, {} test rows sealed",
        exp.train_rows().len(),
        exp.dev_ids().len(),
        exp.plan().test_len()
    );
    // The version iterated last is resumed after dev scoring; its implementation is taken out
    // of the pool here, before the pool becomes the lineup the pilot binds.
    let ledger = Ledger::from_entries(&exp.store().entries()?);
    let resume = match ledger.versions.iter().rfind(|v| v.key.version > 0) {
        Some(v) => {
            let (arm, spec_hash) = (&v.key.arm, &v.key.spec_hash);
            let found = match pool.take(arm, spec_hash) {
                Some(a) => Some(a),
                // A revert to version 0: its implementation is a registered arm, which the
                // pilot needs too; a second copy is built.
                None if pool.find(arm, spec_hash).is_some() => {
                    self::pool(dir, setup)?.all().into_iter().find(|a| {
                        a.id() == arm && crate::hex_sha256(a.spec().as_bytes()) == *spec_hash
                    })
                }
                None => None,
            };
            let found = found.ok_or_else(|| {
                CliError::bad(format!(
                    "version {} of arm '{}' is journaled but its definition is not in {}/{VERSIONS_DIR}/: restore that directory",
                    v.key.version,
                    v.key.arm,
                    dir.display()
                ))
            })?;
            Some((found, v.hypothesis.clone().unwrap_or_default(), v.class))
        }
        None => None,
    };
    let exp = exp.pilot(pool.into_lineup(setup)).await?;
    let mut exp = exp.score_dev().await?;
    if let Some((arm, hypothesis, class)) = resume {
        exp = exp.iterate(arm, &hypothesis, class).await?;
    }
    Ok(exp)
}

/// Gate (the journaled one, if it ran), seal and the one test pass.
pub async fn conclude(exp: Experiment<Scored>, setup: &Setup) -> Result<Conclusion, CliError> {
    record_label_audit(&exp, setup)?;
    let exp = exp.gate(&[])?;
    let exp = exp.seal()?;
    let reread = load_path(&setup.data_path, setup.loaded.columns())
        .map_err(|e| setup.loaded.error("data", e.to_string()))?;
    // The lineup bound at the pilot holds the locked versions (G39).
    let c = exp.verdict(Some(reread.as_ref())).await?;
    Ok(c)
}

/// `[run.label_audit]` (G18): a review already done on the seeded sample is recorded before the
/// seal — the sample is shown (journaled) first, as `itera label-audit` would. The same record on
/// a resumed directory is not recorded twice; a count the library refuses (not the sample's
/// size, more agreed than reviewed, another count than the one journaled) is bad input naming
/// the key.
fn record_label_audit(exp: &Experiment<Scored>, setup: &Setup) -> Result<(), CliError> {
    let Some(r) = setup.loaded.file.run.label_audit else {
        return Ok(());
    };
    if !exp.frame().synthetic_source {
        return Ok(());
    }
    let key = |e: itera_core::Error| setup.loaded.error("run.label_audit", e.to_string());
    let shown = exp.label_audit_sample().map_err(key)?;
    match exp.record_label_audit(r.agreed, r.reviewed) {
        Ok(()) => {}
        Err(itera_core::Error::LabelAudit(itera_core::LabelAuditError::AlreadyRecorded {
            agreed,
            reviewed,
        })) if (agreed, reviewed) == (r.agreed, r.reviewed) => {}
        Err(e) => return Err(key(e).into()),
    }
    tracing::info!(
        "label audit (G18): {}/{} labels confirmed, from [run.label_audit] ({} rows shown)",
        r.agreed,
        r.reviewed,
        shown.len()
    );
    Ok(())
}

/// Checks that every arm in the user's file is a version the journal knows (else the change must
/// be recorded with `itera iterate`).
pub fn check_current_arms(store: &Store, setup: &Setup, pool: &Pool) -> Result<(), CliError> {
    if pool.others.is_empty() {
        // The file is the registered copy (or a first run): the manifest check covers it.
        return Ok(());
    }
    let entries = entries(store)?;
    if entries.is_empty() {
        return Ok(());
    }
    let ledger = Ledger::from_entries(&entries);
    if ledger.versions.is_empty() {
        return Ok(());
    }
    for (id, h) in &pool.current {
        let known = ledger
            .versions
            .iter()
            .any(|v| &v.key.arm == id && &v.key.spec_hash == h);
        if !known {
            return Err(CliError::bad(format!(
                "{}: the definition of arm '{}' changed since it was scored (G23): record the change with `itera iterate {} --arm {} --hypothesis \"...\"`, or restore it",
                setup.loaded.path.display(),
                id,
                store
                    .location()
                    .map_or_else(String::new, |p| p.display().to_string()),
                id
            )));
        }
    }
    Ok(())
}
