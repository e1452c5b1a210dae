//! The [`Lineup`]: the arms, the judge and the run options of an experiment, bound once. It is
//! given to `pilot` and owned by the experiment from then on, so dev scoring, the iterations and
//! the verdict all run with exactly what was piloted — a second arm list or another judge cannot
//! be passed to a later phase (issue #16 item 2; `tests/ui/mismatch_*.rs` pin that it does not
//! compile). The lineup keeps every arm version it has seen, keyed by (arm id, spec hash), so a
//! revert and the verdict find the locked version (G37, G39). The run-time checks stay for
//! directories reopened later by another process (G8, G23, G39): the pilot checks the lineup
//! against the registration, the verdict refuses a locked version the lineup does not hold.

use crate::hash;
use crate::run::arm::Arm;
use crate::run::exec::RunOptions;
use crate::run::judge::Judge;
use std::sync::Arc;

/// The arms, the judge and the run options of one experiment, given once to
/// [`pilot`](crate::Experiment::pilot) and owned by the experiment from then on.
///
/// [`arm`](Lineup::arm) / [`arms`](Lineup::arms) give one implementation per registered arm,
/// baseline included, as registered (version 0); the pilot refuses any other set (G22, G23).
/// A directory reopened later, whose journal already holds iterated versions, also gets those
/// versions with [`recorded_versions`](Lineup::recorded_versions), so the verdict finds the
/// locked ones. Versions made in this process are added by
/// [`iterate`](crate::Experiment::iterate) itself.
///
/// ```
/// use itera_core::prelude::*;
/// use itera_core::run::judges::ExactMatch;
///
/// struct Echo(&'static str);
/// #[async_trait]
/// impl Arm for Echo {
///     fn id(&self) -> &str { self.0 }
///     fn spec(&self) -> String { format!("echo {}", self.0) }
///     async fn call(&self, input: &Value, _: &CallCtx) -> Result<ArmOutput, ArmError> {
///         Ok(ArmOutput::json(input.clone()))
///     }
/// }
///
/// let lineup = Lineup::new(ExactMatch)
///     .arm(Echo("baseline"))
///     .arm(Echo("candidate"))
///     .options(RunOptions { arm_concurrency: 4, ..RunOptions::default() });
/// assert_eq!(lineup.judge().id(), "exact");
/// assert_eq!(lineup.arm_ids(), ["baseline", "candidate"]);
/// assert_eq!(lineup.run_options().arm_concurrency, 4);
/// ```
pub struct Lineup {
    pub(crate) judge: Arc<dyn Judge>,
    pub(crate) arms: Vec<Box<dyn Arm>>,
    /// Later versions of the arms: recorded by an earlier process, or iterated in this one.
    pub(crate) versions: Vec<Box<dyn Arm>>,
    pub(crate) options: RunOptions,
}

impl Lineup {
    /// A lineup judged by `judge`, with no arm yet and [`RunOptions::default`].
    pub fn new(judge: impl Judge + 'static) -> Lineup {
        Lineup::with_judge(Arc::new(judge))
    }

    /// A lineup judged by a judge already shared or boxed (`Arc::from(boxed)`), e.g. one built
    /// from a configuration at run time.
    pub fn with_judge(judge: Arc<dyn Judge>) -> Lineup {
        Lineup {
            judge,
            arms: Vec::new(),
            versions: Vec::new(),
            options: RunOptions::default(),
        }
    }

    /// Adds one arm as registered (the baseline or a candidate, version 0).
    pub fn arm(mut self, arm: impl Arm + 'static) -> Lineup {
        self.arms.push(Box::new(arm));
        self
    }

    /// Adds arms as registered (version 0), e.g. built from a configuration.
    pub fn arms(mut self, arms: impl IntoIterator<Item = Box<dyn Arm>>) -> Lineup {
        self.arms.extend(arms);
        self
    }

    /// Adds later versions of registered arms that an earlier process recorded (a directory
    /// reopened later): they are never piloted or scored as version 0; the verdict and a revert
    /// find a version the journal names by its arm id and spec (G37, G39).
    pub fn recorded_versions(mut self, versions: impl IntoIterator<Item = Box<dyn Arm>>) -> Lineup {
        for v in versions {
            self.add_version(v);
        }
        self
    }

    /// Sets how calls run (concurrency, timeouts, retries, the second judge, …).
    pub fn options(mut self, options: RunOptions) -> Lineup {
        self.options = options;
        self
    }

    /// The judge.
    pub fn judge(&self) -> &dyn Judge {
        self.judge.as_ref()
    }

    /// The ids of the arms as registered, in the order given.
    pub fn arm_ids(&self) -> Vec<&str> {
        self.arms.iter().map(|a| a.id()).collect()
    }

    /// How calls run.
    pub fn run_options(&self) -> &RunOptions {
        &self.options
    }

    /// The implementation of `arm` whose spec hashes to `spec_hash`, registered or later.
    pub(crate) fn find(&self, arm: &str, spec_hash: &str) -> Option<&dyn Arm> {
        self.arms
            .iter()
            .chain(&self.versions)
            .find(|a| a.id() == arm && hash::sha256_hex(a.spec().as_bytes()) == spec_hash)
            .map(|a| a.as_ref())
    }

    /// Keeps `version` unless the lineup already holds its (arm id, spec); returns the one kept.
    pub(crate) fn add_version(&mut self, version: Box<dyn Arm>) -> &dyn Arm {
        let spec_hash = hash::sha256_hex(version.spec().as_bytes());
        let at = self.arms.iter().chain(&self.versions).position(|a| {
            a.id() == version.id() && hash::sha256_hex(a.spec().as_bytes()) == spec_hash
        });
        match at {
            Some(i) if i < self.arms.len() => self.arms[i].as_ref(),
            Some(i) => self.versions[i - self.arms.len()].as_ref(),
            None => {
                self.versions.push(version);
                self.versions[self.versions.len() - 1].as_ref()
            }
        }
    }
}

impl std::fmt::Debug for Lineup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lineup")
            .field("judge", &self.judge.id())
            .field("arms", &self.arm_ids())
            .field(
                "versions",
                &self.versions.iter().map(|a| a.id()).collect::<Vec<_>>(),
            )
            .field("options", &self.options)
            .finish()
    }
}
