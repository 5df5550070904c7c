use super::*;
use crate::spider::Spider;

fn load(text: &str) -> Result<Spider, SpiderError> {
    Spider::from_toml(text, "t.toml", "t")
}

const LIST: &str = "[list]\nitem = '.i'\nfields.t = '.t'\n";

#[test]
fn starts_and_vars_make_sequences_in_order() {
    let spider = load(&format!(
        "start = ['http://a.test/?q={{q}}&s={{s}}', 'http://b.test/?q={{q}}']\n\
         [vars]\nq = ['lego', 'duplo']\ns = [1, 2]\n{LIST}"
    ))
    .unwrap();
    let sequences: Vec<String> = spider
        .starts
        .sequences()
        .into_iter()
        .map(|(t, vars)| {
            let values: Vec<String> = vars.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("{t}:{}", values.join(","))
        })
        .collect();
    assert_eq!(
        sequences,
        [
            "0:q=lego,s=1",
            "0:q=lego,s=2",
            "0:q=duplo,s=1",
            "0:q=duplo,s=2",
            "1:q=lego,s=1",
            "1:q=lego,s=2",
            "1:q=duplo,s=1",
            "1:q=duplo,s=2"
        ]
    );
}

#[test]
fn a_var_file_is_read_beside_the_spider_file_blank_lines_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("queries.txt"), "lego\n\n  duplo  \n").unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        format!("start = 'http://h.test/?q={{q}}'\n[vars]\nq = {{ file = 'queries.txt' }}\n{LIST}"),
    )
    .unwrap();
    let spider = Spider::from_path(&path).unwrap();
    assert_eq!(
        spider.starts.vars,
        [(
            "q".to_string(),
            vec!["lego".to_string(), "duplo".to_string()]
        )]
    );
    let mut starts = spider.starts.clone();
    starts.set_var("q", vec!["technic".into()]).unwrap();
    assert_eq!(starts.sequences().len(), 1);
    let unknown = starts.set_var("x", vec![]).unwrap_err();
    assert!(
        unknown.contains("`x` is not a var") && unknown.contains("`q`"),
        "{unknown}"
    );
}

#[test]
fn offsets_and_totals_load() {
    let spider = load(
        "start = 'http://h.test/?o={offset}'\nstep = 20\nfirst_offset = 5\ntotal = 'meta.total'\n\
         [list]\nformat = 'json'\nitems = 'items'\n",
    )
    .unwrap();
    assert_eq!(spider.paging, Paging::Offset { first: 5, step: 20 });
    assert!(matches!(spider.total, Some(Total::Items(_))));
    let pages = load(&format!(
        "start = 'http://h.test/{{page}}'\n{LIST}total_pages = '.pager .last::text | int'\n"
    ))
    .unwrap();
    assert!(matches!(pages.total, Some(Total::Pages(_))));
}

#[test]
fn bad_starts_vars_and_totals_name_the_key() {
    let cases = [
        ("start = 'http://h.test/?q={q}'\n", "start", "`{q}`"),
        (
            "start = ['http://h.test/', 'ftp://h.test/']\n",
            "start[1]",
            "http",
        ),
        ("start = []\n", "start", "at least one"),
        (
            "start = ['http://h.test/{page}', 'http://h.test/x']\n",
            "start",
            "every start",
        ),
        (
            "start = 'http://h.test/{page}/{offset}'\nstep = 1\n",
            "start",
            "not both",
        ),
        ("start = 'http://h.test/{offset}'\n", "step", "step = N"),
        (
            "start = 'http://h.test/{offset}'\nstep = 0\n",
            "step",
            "≥ 1",
        ),
        (
            "start = 'http://h.test/{offset}'\nstep = 2\nfirst_offset = -1\n",
            "first_offset",
            "≥ 0",
        ),
        ("start = 'http://h.test/'\nstep = 2\n", "step", "{offset}"),
        ("start = 'http://h.test/'\ntotal = 'n'\n", "total", "{page}"),
        (
            "start = 'http://h.test/{page}'\nlast_page = 3\ntotal_pages = 'n'\n",
            "total_pages",
            "not both",
        ),
        (
            "start = 'http://h.test/{page}'\ntotal = 'a'\ntotal_pages = 'b'\n",
            "total",
            "one total",
        ),
        (
            "start = 'http://h.test/?q={q}'\n[vars]\nq = []\n",
            "vars.q",
            "at least one",
        ),
        (
            "start = 'http://h.test/'\n[vars]\npage = ['1']\n",
            "vars.page",
            "other than",
        ),
        (
            "start = 'http://h.test/'\n[vars]\nq = { file = 'nope.txt' }\n",
            "vars.q.file",
            "nope.txt",
        ),
        (
            "start = 'http://h.test/'\n[vars]\nq = [[1]]\n",
            "vars.q",
            "strings or numbers",
        ),
    ];
    for (top, key, says) in cases {
        // `[vars]` opens a table: the list comes after it either way.
        let text = format!("{top}{LIST}");
        let err = load(&text).unwrap_err();
        assert_eq!(err.key(), Some(key), "{text}\n{err}");
        assert!(err.to_string().contains(says), "{text}\n{err}");
    }
}
