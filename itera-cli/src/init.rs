//! `itera init`: a commented experiment file documenting every key. Keys that are commented out
//! are optional; their documented value is the default.

/// The experiment file `itera init` writes.
pub const TEMPLATE: &str = r#"# An itera experiment. Run it with `itera run THIS_FILE`; the experiment directory defaults to
# experiments/YYYY-MM-DD-<name>/ under the current directory (`--out DIR` to choose). Re-running
# the same command resumes from the journal: calls already made are not made again.
# Paths are relative to THIS file. Unknown keys are errors. Everything in [experiment], [metric],
# [threshold], [[failure_modes]], [severity], [split], the arms' ids/parents/changes/prices and
# run.failure_policy is pre-registered: hashed into the frame, and refused if changed afterwards.

[experiment]
name = "refund-prompt-v2"                     # short; used in the directory name
question = "Does prompt v2 classify refunds better than v1?"   # one sentence
hypothesis = "Two refund examples fix the refund/transfer confusion."   # one sentence
seed = 7                                       # the split's and the per-call seeds (default 0)
# alpha = 0.05                                 # significance level; CIs are 1 - alpha
# power = 0.8                                  # target power of the test set for the threshold
# deterministic = false                        # the arms return the same output for the same
#                                              # input; allows trials < 3. Default: true when
#                                              # EVERY arm is a replay, else false.
# synthetic_source = false                     # rows generated from a known source of truth
# reuse_test = "why"                           # the test set may hold rows an earlier experiment
#                                              # opened (G15): without it such a split is refused
#                                              # (exit 2); with it the verdict says "not a fresh
#                                              # test set" and the self-audit item fails

[data]
path = "rows.csv"                              # .csv, or .jsonl / .ndjson (one object per line)
id = ["ticket_id"]                             # one column, or several joined as "a/b"
input = ["text"]                               # one column -> its value; several -> a JSON object
expected = "label"                             # ground truth (an empty cell = none)
slice = "tier"                                 # the slices R3 checks (absent: one slice "all")
# cluster = "customer_id"                      # rows that are not independent (clustered SEs)
# severity = "amount"                          # per-row impact column (default: [severity] field)
# failure_modes = "tags"                       # failure-mode tags, separated by | or ;
# filter = { source = "prod" }                 # keep only lines whose column equals the value

# [split]                                      # shares of train (shown in full), dev (scored
# train = 0.3                                  # while iterating), test (sealed until the verdict)
# dev = 0.5
# test = 0.2

[metric]
name = "accuracy"                              # the primary metric, computed per row
scorer = "exact"                               # exact | normalized | set | regex | numeric |
                                               # json-field | recorded | llm
# options = { pattern = "answer is (\\w+)" }  # scorer options: regex {pattern}, numeric {abs, rel},
#                                              # json-field {pointer}, recorded {min, max}
#                                              # (`recorded` reads the score a replay arm recorded
#                                              # in its `score` column, rescaled from [min, max]
#                                              # to [0, 1])
# trials = 3                                   # trials per (arm, row): >= 3 unless deterministic
#                                              # (default 3, or 1 when deterministic)
# secondaries = ["latency"]                    # at most two secondary metric names
# rubric = "..."                               # a judging text for a non-LLM scorer; with
#                                              # scorer = "llm" the rubric lives in [metric.llm]
# [metric.llm]                                 # the llm judge of scorer = "llm" (a full file:
#                                              # examples/txn-categories/experiment.llm-judge.toml)
# base_url = "http://127.0.0.1:8089/v1"        # an OpenAI-compatible endpoint
# model = "smollm2-135m-instruct"
# family = "smollm"                            # required: the judge's model family (G29)
# api_key_env = "OPENAI_API_KEY"               # the env var holding the key (never the key)
# rubric = "1 = right category; 0 = anything else"   # locked by the registration (G8)
# prompt = "Input: {input}\nExpected: {expected}\nAnswer: {output}\n{rubric}\nScore:"
# score_regex = "([01])"                       # capture group 1; default: the reply's first number
# scale = 1.0                                  # the number is divided by it (e.g. 10 for 0-10)
# price = { input_per_mtok_usd = 0.15, output_per_mtok_usd = 0.6 }   # the judge's cost, shown apart
# [metric.second_judge]                        # the second_judge (same keys): ANOTHER family; needed
#                                              # when the judge shares a family with an arm (G29)

[threshold]
min_effect_pp = 5.0                            # the gain that justifies shipping, in pp ...
# min_effect_rel_pct = 10.0                    # ... or in % of the baseline (give one of the two)
# rule = "point"                               # "point": delta >= T and the CI excludes 0;
#                                              # "ci-lower": the CI's lower bound >= T
slice_loss_floor_pp = -2.0                     # no major slice's CI lower bound below this
# major_slices = ["smb", "enterprise"]         # slices R3 checks (default: every slice)

# [[failure_modes]]                            # the taxonomy: 3 to 5 categories, or none
# id = "refund_as_transfer"
# weight = 3.0                                 # severity weight; the heaviest is protected (R4)
# description = "a refund classified as a transfer"

# [severity]                                   # per-row impact, when it varies more than 5x
# field = "amount"
# cap = 10000.0

# [run]                                        # how calls are made (not registered, except
# concurrency = 8                              # failure_policy)
# judge_concurrency = 8
# timeout_s = 120.0                            # per attempt
# max_attempts = 5                             # the first included; retries back off with jitter
# heartbeat_s = 10.0                           # no call finished this long: name the waiting one
# cross_judge_rows = 20                        # rows the cross-judge check samples (>= 5, G29)
# requests_per_second = 5.0                    # arm request rate limit
# tokens_per_minute = 100000                   # arm token rate limit (input + output)
# adaptive_concurrency = false                 # true: AIMD per arm up to concurrency, halved on
#                                              # 429/503/529 or latency growth (trace in summary)
# failure_policy = "score-zero"                # a call failing after retries scores 0, or
#                                              # "exclude" drops the (arm, row) pair, counted
# accept_underpowered = "why"                  # open the test set although it cannot show T
#                                              # (or a major slice within F): journaled, shown,
#                                              # and the self-audit's power item fails (G20)
# label_audit = { agreed = 30, reviewed = 30 }  # synthetic_source: a review already done of the
#                                              # sample `itera label-audit DIR` shows (G18),
#                                              # recorded before the seal on every run

# The baseline (the deployed behaviour) and 1 to 3 candidate arms, each changing ONE thing.
# Each arm has exactly one kind: replay = {...}, command = {...}, openai = {...} or
# anthropic = {...}. API keys only through api_key_env (the NAME of an environment variable).
[[arms]]
id = "v1"
baseline = true
source = "src/prompt.rs:42"                    # where the deployed behaviour lives (required)
# family = "gpt"                               # model family (cross-judge rule), replay/command
# price = { input_per_mtok_usd = 0.15, output_per_mtok_usd = 0.6 }   # when cost is not reported;
#   prompt-cache rates: cache_read_per_mtok_usd = 0.015, cache_write_per_mtok_usd = 0.19 (default:
#   the input rate); the reported cost is the warm steady state, cold calls apart (G28)
replay = { path = "v1-outputs.csv", id = ["ticket_id"], output = "answer" }
# replay keys: path, id (one column or several, joined like the data's id), output (an EMPTY
# recorded output is a real "no answer", scored by the judge), trial (0-based trial column;
# without it every trial replays the same output), filter = { column = "value" }, and the
# optional recorded columns score, input_tokens, output_tokens, cost, latency_ms or latency_s (a
# latency in seconds; declared usage is checked by the pilot). Every data row needs a recording.

[[arms]]
id = "v2"
parent = "v1"                                  # the arm it changes (default: the baseline)
change = "adds two refund examples to the prompt"   # its ONE change
# negative_control = false                     # expected to show no change (G4)
command = { program = "python3", args = ["arm.py", "--prompt", "v2.txt"], files = ["v2.txt"] }
# command keys: program, args, env = { KEY = "value" }, cwd, files (whose text defines this
# version: editing one is a new version), reports = ["tokens", "cost"]. The child reads
# {"id", "row", "input", "trial", "seed"} lines on stdin and answers
# {"id", "output", "usage": {"input_tokens", "output_tokens", "cost_usd"}} lines on stdout
# (or {"id", "error", "retryable"}), in any order.
# openai = { base_url = "http://127.0.0.1:8089/v1", model = "smollm2", api_key_env = "LLM_KEY",
#   user = "Memo: {memo}", system = "...", max_tokens = 16, temperature = 0.0,
#   extract = { json_field = "/category" }, extra = { seed = 7 } }   # OpenAI-compatible endpoint
# anthropic = { model = "claude-haiku-4-5", api_key_env = "ANTHROPIC_API_KEY",
#   system = "...", cache_system = true, prefix_file = "examples.txt", cache_prefix = true,
#   user = "Memo: {memo}", max_tokens = 16, temperature = 0.0, stop_sequences = ["\n"] }
#   # Anthropic Messages; base_url defaults to https://api.anthropic.com/v1, anthropic_version
#   # to "2023-06-01"; also system_file, user_file, extract, family (default "claude"), timeout_s
# Batch execution, on an openai or anthropic arm: execution = "batch" sends a phase's pending
#   calls through the provider's batch API (OpenAI Batch: /files + /batches; Anthropic Message
#   Batches: /messages/batches) instead of one request each; batch_poll_s = 30.0 (seconds between
#   polls), batch_max_requests = 50000 (per batch; the provider's limit is the default). Each
#   batch is journaled when accepted, so a killed run resumes polling it and never submits it
#   twice; failed items are called directly. Priced at the price's batch_discount = 0.5 (the
#   fraction off; default the providers' published 50%). execution = "direct" is the default.
"#;

#[cfg(test)]
mod tests {
    use super::TEMPLATE;

    /// The README's arms section parses as the `[[arms]]` of an experiment file, the
    /// `anthropic` table with its cache prices included.
    #[test]
    fn readme_arm_tables_parse() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("## Arms in an experiment file")
            .and_then(|i| readme[i..].find("```toml").map(|j| i + j + 7))
            .expect("the README has the arms section");
        let end = start + readme[start..].find("```").expect("closed");
        let head = TEMPLATE
            .split("[[arms]]")
            .next()
            .expect("the template has arms");
        let file: crate::config::ExperimentFile =
            toml::from_str(&format!("{head}{}", &readme[start..end])).expect("parses");
        let kinds: Vec<_> = file.arms.iter().filter_map(|a| a.kind()).collect();
        assert_eq!(kinds, ["replay", "command", "openai", "anthropic"]);
        let a = file.arms[3].anthropic.as_ref().expect("anthropic");
        assert!(a.cache_system && a.cache_prefix);
        let p = file.arms[3].price.expect("price");
        assert_eq!(p.cache_read_per_mtok_usd, Some(0.1));
        assert_eq!(p.cache_write_per_mtok_usd, Some(1.25));
        // Batch execution (issue #18 item 2) is shown on an arm of each provider.
        let batched = file.arms[2].openai.as_ref().expect("openai");
        assert_eq!(
            batched.execution,
            itera_core::builtin::http::Execution::Batch
        );
        assert_eq!(a.execution, itera_core::builtin::http::Execution::Batch);
        assert_eq!(file.arms[2].price.expect("price").batch_discount, Some(0.5));
    }

    #[test]
    fn template_parses_and_documents_every_key() {
        let file: crate::config::ExperimentFile =
            toml::from_str(TEMPLATE).expect("the template parses");
        assert_eq!(file.arms.len(), 2);
        for key in [
            "name",
            "question",
            "hypothesis",
            "seed",
            "alpha",
            "power",
            "deterministic",
            "synthetic_source",
            "reuse_test",
            "path",
            "id",
            "input",
            "expected",
            "slice",
            "cluster",
            "severity",
            "failure_modes",
            "filter",
            "train",
            "dev",
            "test",
            "scorer",
            "options",
            "trials",
            "secondaries",
            "rubric",
            "llm",
            "second_judge",
            "min_effect_pp",
            "min_effect_rel_pct",
            "rule",
            "slice_loss_floor_pp",
            "major_slices",
            "weight",
            "description",
            "field",
            "cap",
            "concurrency",
            "judge_concurrency",
            "timeout_s",
            "max_attempts",
            "heartbeat_s",
            "cross_judge_rows",
            "requests_per_second",
            "tokens_per_minute",
            "failure_policy",
            "accept_underpowered",
            "label_audit",
            "agreed",
            "reviewed",
            "baseline",
            "source",
            "parent",
            "change",
            "negative_control",
            "family",
            "price",
            "input_per_mtok_usd",
            "output_per_mtok_usd",
            "replay",
            "command",
            "openai",
            "anthropic",
            "cache_read_per_mtok_usd",
            "cache_write_per_mtok_usd",
            "cache_system",
            "prefix_file",
            "cache_prefix",
            "stop_sequences",
            "api_key_env",
            "adaptive_concurrency",
            "output",
            "trial",
            "score",
            "input_tokens",
            "output_tokens",
            "cost",
            "latency_ms",
            "latency_s",
            "program",
            "args",
            "env",
            "cwd",
            "files",
            "reports",
            "execution",
            "batch_poll_s",
            "batch_max_requests",
            "batch_discount",
        ] {
            assert!(
                TEMPLATE.contains(&format!("{key} ="))
                    || TEMPLATE.contains(&format!("{key},"))
                    || TEMPLATE.contains(&format!(" {key} ")),
                "key {key} is not documented"
            );
        }
    }
}
