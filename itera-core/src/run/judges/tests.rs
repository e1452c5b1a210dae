//! Unit tests of the built-in judges and [`builtin_judge`]: each judge's matches and misses,
//! "no answer", missing ground truth, and every configuration error.

use super::*;
use serde_json::json;

fn run(judge: &dyn Judge, expected: Option<Value>, output: Value) -> Result<f64, JudgeError> {
    let input = json!("the input");
    let view = JudgeView {
        input: &input,
        expected: expected.as_ref(),
    };
    futures::executor::block_on(judge.score(view, &output)).map(|j| {
        assert!(j.failure_modes.is_empty() && j.rubric_hash.is_none());
        j.score
    })
}

fn score(judge: &dyn Judge, expected: Value, output: Value) -> f64 {
    run(judge, Some(expected), output).unwrap()
}

fn assert_unscorable(judge: &dyn Judge, expected: Option<Value>, needle: &str) {
    match run(judge, expected, json!("x")) {
        Err(JudgeError::Unscorable(msg)) => {
            assert!(msg.contains(needle), "{msg}");
            assert!(msg.contains(judge.id()), "{msg}");
        }
        other => panic!("{}: {other:?}", judge.id()),
    }
}

#[test]
fn normalize_is_precise() {
    assert_eq!(normalize("Hello, World!"), "hello world");
    assert_eq!(normalize("  a\t\n b  "), "a b");
    assert_eq!(normalize("U.S.A."), "usa");
    assert_eq!(normalize("don't"), "dont");
    assert_eq!(normalize("(A)"), "a");
    assert_eq!(normalize("ÀÉÎ Straße"), "àéî straße");
    assert_eq!(normalize("«oui»"), "«oui»", "non-ASCII punctuation is kept");
    assert_eq!(
        normalize("a\u{3000}b"),
        "a b",
        "unicode whitespace collapses"
    );
    assert_eq!(normalize("?!"), "");
    assert_eq!(normalize(""), "");
}

proptest::proptest! {
    #[test]
    fn normalize_is_idempotent(s in "\\PC{0,40}") {
        let once = normalize(&s);
        proptest::prop_assert_eq!(normalize(&once), once.clone());
        proptest::prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
    }

    #[test]
    fn first_number_reads_thousands_separated_integers(n in -10_000_000_000i64..10_000_000_000i64) {
        let digits = n.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if n < 0 { "-" } else { "" };
        let text = format!("total: ${sign}{grouped}.00 due");
        proptest::prop_assert_eq!(NumericTolerance::first_number(&text), Some(n as f64));
    }
}

#[test]
fn exact_match() {
    let j = ExactMatch;
    assert_eq!(j.id(), "exact");
    assert_eq!(j.family(), None);
    assert_eq!(score(&j, json!("True"), json!("True")), 1.0);
    assert_eq!(score(&j, json!("True"), json!("  True\n")), 1.0);
    assert_eq!(score(&j, json!(" True "), json!("True")), 1.0);
    assert_eq!(score(&j, json!("True"), json!("true")), 0.0);
    assert_eq!(score(&j, json!("True"), json!("True.")), 0.0);
    assert_eq!(score(&j, json!("a b"), json!("a  b")), 0.0);
    assert_eq!(score(&j, json!("日本"), json!("日本")), 1.0);
    // Non-string values compare through compact JSON text.
    assert_eq!(score(&j, json!("42"), json!(42)), 1.0);
    assert_eq!(score(&j, json!(42), json!("42")), 1.0);
    assert_eq!(score(&j, json!({"a": [1, 2]}), json!("{\"a\":[1,2]}")), 1.0);
    // Empty output is "no answer", never a match, even against an empty-looking expected.
    assert_eq!(score(&j, json!("x"), json!("")), 0.0);
    assert_eq!(score(&j, json!(" "), json!(" ")), 0.0);
    assert_eq!(score(&j, json!("null"), json!(null)), 0.0);
    assert_unscorable(&j, None, "needs an expected value");
    assert_unscorable(&j, Some(json!(null)), "needs an expected value");
}

#[test]
fn normalized_match() {
    let j = Normalized;
    assert_eq!(score(&j, json!("New York"), json!("new york")), 1.0);
    assert_eq!(score(&j, json!("New York"), json!("  NEW\tYORK!! ")), 1.0);
    assert_eq!(score(&j, json!("(B)"), json!("b")), 1.0);
    assert_eq!(score(&j, json!("Éclair"), json!("éclair.")), 1.0);
    assert_eq!(score(&j, json!("New York"), json!("York")), 0.0);
    assert_eq!(score(&j, json!("New York"), json!("newyork")), 0.0);
    assert_eq!(score(&j, json!("x"), json!("")), 0.0);
    assert_eq!(score(&j, json!("x"), json!("...")), 0.0);
    assert_eq!(score(&j, json!(true), json!("TRUE")), 1.0);
    assert_unscorable(&j, None, "needs an expected value");
    assert_unscorable(&j, Some(json!("?!")), "empty after normalization");
}

#[test]
fn set_membership() {
    let j = SetMembership;
    assert_eq!(
        score(&j, json!(["Paris", "paris, france"]), json!("PARIS")),
        1.0
    );
    assert_eq!(
        score(&j, json!(["Paris", "paris, france"]), json!("Paris France")),
        1.0
    );
    assert_eq!(score(&j, json!(["Paris"]), json!("Lyon")), 0.0);
    assert_eq!(score(&j, json!("yes|y|true"), json!("Y")), 1.0);
    assert_eq!(score(&j, json!("yes|y|true"), json!("no")), 0.0);
    assert_eq!(score(&j, json!("[\"a b\", \"c\"]"), json!("A  B")), 1.0);
    assert_eq!(score(&j, json!("[not json|x"), json!("x")), 1.0);
    assert_eq!(score(&j, json!([1, 2]), json!(2)), 1.0);
    assert_eq!(score(&j, json!("single"), json!("single")), 1.0);
    assert_eq!(score(&j, json!("a|b"), json!("")), 0.0);
    assert_eq!(
        score(&j, json!("a|b"), json!("a|b")),
        0.0,
        "the output is one answer"
    );
    assert_unscorable(&j, None, "needs an expected value");
    assert_unscorable(&j, Some(json!([])), "holds no accepted answer");
    assert_unscorable(&j, Some(json!("| |")), "holds no accepted answer");
}

#[test]
fn regex_with_group_and_expected() {
    let j = RegexJudge::new(r"(?i)answer is \(?([A-J])\)?").unwrap();
    assert_eq!(j.pattern(), r"(?i)answer is \(?([A-J])\)?");
    assert_eq!(score(&j, json!("c"), json!("So the answer is (C).")), 1.0);
    assert_eq!(score(&j, json!("C"), json!("The answer is D")), 0.0);
    assert_eq!(score(&j, json!("C"), json!("I don't know")), 0.0);
    // First match wins.
    assert_eq!(
        score(&j, json!("A"), json!("answer is A, no, answer is B")),
        1.0
    );
    assert_eq!(
        score(&j, json!("B"), json!("answer is A, no, answer is B")),
        0.0
    );
    assert_eq!(score(&j, json!("C"), json!("")), 0.0);
    // A group that does not take part in the match scores 0.
    let j = RegexJudge::new(r"yes|(no)").unwrap();
    assert_eq!(score(&j, json!("no"), json!("yes")), 0.0);
    assert_eq!(score(&j, json!("no"), json!("no")), 1.0);
}

#[test]
fn regex_without_group_compares_whole_match() {
    let j = RegexJudge::new(r"\b[A-J]\b").unwrap();
    assert_eq!(score(&j, json!("B"), json!("it is B")), 1.0);
    assert_eq!(score(&j, json!("B"), json!("it is C")), 0.0);
}

#[test]
fn regex_without_expected_scores_a_match() {
    let j = RegexJudge::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
    assert_eq!(run(&j, None, json!("2024-01-31")).unwrap(), 1.0);
    assert_eq!(run(&j, None, json!("Jan 31")).unwrap(), 0.0);
    assert_eq!(run(&j, None, json!("")).unwrap(), 0.0);
    let j = RegexJudge::new(r"(\p{Han}+)").unwrap();
    assert_eq!(run(&j, None, json!("答案是东京")).unwrap(), 1.0);
    assert_eq!(score(&j, json!("东京"), json!("东京!")), 1.0);
}

#[test]
fn bad_regex_is_a_construction_error() {
    for bad in ["(unclosed", "[a-", "a{2,1}", r"\p{Nope}"] {
        match RegexJudge::new(bad) {
            Err(JudgeConfigError::BadPattern { pattern, message }) => {
                assert_eq!(pattern, bad);
                assert!(!message.is_empty());
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn first_number_parsing() {
    let f = NumericTolerance::first_number;
    assert_eq!(f("$1,234.50"), Some(1234.5));
    assert_eq!(f("-1,234"), Some(-1234.0));
    assert_eq!(f("The answer is -7."), Some(-7.0));
    assert_eq!(f("\u{2212}3"), Some(-3.0));
    assert_eq!(f("+4"), Some(4.0));
    assert_eq!(f("1234567"), Some(1234567.0));
    assert_eq!(f("12,34"), Some(12.0), "not a thousands group");
    assert_eq!(f("1,234,5678"), Some(1234.0));
    assert_eq!(f("about .5 of it"), Some(0.5));
    assert_eq!(f("3e2 apples"), Some(300.0));
    assert_eq!(f("3 eggs"), Some(3.0));
    assert_eq!(f("2023-05-01"), Some(2023.0));
    assert_eq!(f("1e999"), None, "not finite");
    assert_eq!(f("no digits"), None);
    assert_eq!(f(""), None);
}

#[test]
fn numeric_tolerance() {
    let exact = NumericTolerance::new(0.0, 0.0).unwrap();
    assert_eq!(
        score(&exact, json!("72"), json!("The total is 72 dollars")),
        1.0
    );
    assert_eq!(score(&exact, json!(72), json!("#### 72")), 1.0);
    assert_eq!(score(&exact, json!("1,234.5"), json!("$1,234.50")), 1.0);
    assert_eq!(score(&exact, json!(" -3 "), json!("-3")), 1.0);
    assert_eq!(score(&exact, json!("72"), json!(72.0)), 1.0);
    assert_eq!(score(&exact, json!("72"), json!("73")), 0.0);
    assert_eq!(score(&exact, json!("72"), json!("seventy-two")), 0.0);
    assert_eq!(score(&exact, json!("72"), json!("")), 0.0);
    assert_eq!(score(&exact, json!("72"), json!(null)), 0.0);
    assert_eq!(score(&exact, json!("72"), json!({"answer": 72})), 1.0);

    let abs = NumericTolerance::new(0.5, 0.0).unwrap();
    assert_eq!(score(&abs, json!(10), json!("10.5")), 1.0);
    assert_eq!(score(&abs, json!(10), json!("9.5")), 1.0);
    assert_eq!(score(&abs, json!(10), json!("10.51")), 0.0);

    let rel = NumericTolerance::new(0.0, 0.01).unwrap();
    assert_eq!(score(&rel, json!(1000), json!("1,010")), 1.0);
    assert_eq!(score(&rel, json!(1000), json!("1,011")), 0.0);
    assert_eq!(score(&rel, json!(-1000), json!("-990")), 1.0);
    // max(abs, rel·|expected|): near zero the absolute tolerance takes over.
    let both = NumericTolerance::new(0.1, 0.01).unwrap();
    assert_eq!(score(&both, json!(0), json!("0.05")), 1.0);
    assert_eq!((both.abs(), both.rel()), (0.1, 0.01));
}

#[test]
fn numeric_errors() {
    let j = NumericTolerance::new(0.0, 0.0).unwrap();
    assert_unscorable(&j, None, "needs an expected value");
    assert_unscorable(&j, Some(json!("about 5")), "is not a number");
    assert_unscorable(&j, Some(json!("")), "is not a number");
    assert_unscorable(&j, Some(json!(true)), "is not a number");
    for (abs, rel) in [(-1.0, 0.0), (0.0, f64::NAN), (f64::INFINITY, 0.0)] {
        assert!(matches!(
            NumericTolerance::new(abs, rel),
            Err(JudgeConfigError::BadOption { .. })
        ));
    }
}

#[test]
fn json_field() {
    let j = JsonField::new("/answer").unwrap();
    assert_eq!(j.pointer(), "/answer");
    assert_eq!(score(&j, json!("Paris"), json!({"answer": "paris"})), 1.0);
    assert_eq!(
        score(&j, json!("Paris"), json!("{\"answer\": \"Paris.\"}")),
        1.0
    );
    assert_eq!(
        score(
            &j,
            json!("Paris"),
            json!("Here it is:\n```json\n{\"answer\": \"Paris\"}\n```\nDone.")
        ),
        1.0
    );
    assert_eq!(
        score(
            &j,
            json!("Paris"),
            json!("```\n{\"answer\": \"Paris\"}\n```")
        ),
        1.0
    );
    assert_eq!(score(&j, json!("42"), json!({"answer": 42})), 1.0);
    assert_eq!(score(&j, json!("Paris"), json!({"answer": "Lyon"})), 0.0);
    assert_eq!(score(&j, json!("Paris"), json!({"other": "Paris"})), 0.0);
    assert_eq!(score(&j, json!("Paris"), json!({"answer": null})), 0.0);
    assert_eq!(
        score(&j, json!("Paris"), json!("{\"answer\": \"Paris\"")),
        0.0
    );
    assert_eq!(score(&j, json!("Paris"), json!("Paris")), 0.0);
    assert_eq!(score(&j, json!("Paris"), json!("")), 0.0);
    assert_eq!(
        score(&j, json!("Paris"), json!("```json\n{broken\n```")),
        0.0
    );
    assert_unscorable(&j, None, "needs an expected value");

    let nested = JsonField::new("/items/1/label~1x").unwrap();
    assert_eq!(
        score(
            &nested,
            json!("B"),
            json!({"items": [{"label/x": "a"}, {"label/x": "b"}]})
        ),
        1.0
    );
    let whole = JsonField::new("").unwrap();
    assert_eq!(score(&whole, json!("yes"), json!("\"YES\"")), 1.0);
    assert!(matches!(
        JsonField::new("answer"),
        Err(JudgeConfigError::BadOption { .. })
    ));
}

#[test]
fn factory_builds_each_builtin() {
    let cases = [
        ("exact", json!(null)),
        ("normalized", json!({})),
        ("set", json!(null)),
        ("regex", json!({"pattern": "(a)"})),
        ("numeric", json!({"abs": 1, "rel": 0.5})),
        ("numeric", json!(null)),
        ("json-field", json!({"pointer": "/a"})),
    ];
    for (id, options) in cases {
        let judge = builtin_judge(id, &options).unwrap();
        assert_eq!(judge.id(), id);
        assert_eq!(judge.family(), None);
    }
    assert_eq!(BUILTIN_JUDGES.len(), 6);
    let numeric = builtin_judge("numeric", &json!({"abs": 1})).unwrap();
    assert_eq!(score(numeric.as_ref(), json!(10), json!("11")), 1.0);
}

#[test]
fn factory_errors() {
    let err = builtin_judge("fuzzy", &json!(null)).err().unwrap();
    assert!(matches!(err, JudgeConfigError::UnknownJudge { .. }));
    assert_eq!(
        err.to_string(),
        "unknown judge 'fuzzy'; the built-in judges are: exact, normalized, set, regex, numeric, json-field"
    );
    let bad = |id: &str, options: Value| builtin_judge(id, &options).err().unwrap().to_string();
    assert!(bad("regex", json!({})).contains("option 'pattern': required"));
    assert!(bad("regex", json!({"pattern": 3})).contains("must be a string"));
    assert!(bad("regex", json!({"pattern": "("})).contains("not a valid regular expression"));
    assert!(
        bad("regex", json!({"patern": "a"}))
            .contains("option 'patern': unknown option; the options are: pattern")
    );
    assert!(bad("exact", json!({"x": 1})).contains("this judge takes no options"));
    assert!(bad("numeric", json!({"abs": "0.1"})).contains("must be a number"));
    assert!(bad("numeric", json!({"rel": -1})).contains("option 'rel'"));
    assert!(bad("json-field", json!({})).contains("option 'pointer': required"));
    assert!(bad("json-field", json!({"pointer": "a"})).contains("\"/a\""));
    assert!(bad("set", json!([1])).contains("options must be a table"));
}
