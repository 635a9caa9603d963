//! The docs' `curl` commands, run through a small curl of ours against a target.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::markdown::{Line, all_lines};
use super::processes::authority;
use super::shell::{Kind, Seg, classify, literal};

// ---------------------------------------------------------------------------------------------
// HTTP

/// A blocking face over reqwest.
pub(super) struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub(super) fn new() -> Http {
        Http {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    pub(super) fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<(u16, String), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| e.to_string())?;
            Ok((status, text))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// curl

/// What a `curl` line asks for.
#[derive(Debug)]
pub(super) struct Curl {
    method: Option<Vec<Seg>>,
    headers: Vec<Vec<Seg>>,
    data: Option<Vec<Seg>>,
    url: Vec<Seg>,
}

impl Curl {
    /// The options the docs use: `-s`, `-X`, `-H`, `-d` and one URL.
    pub(super) fn parse(words: &[Vec<Seg>]) -> Result<Curl, String> {
        let mut curl = Curl {
            method: None,
            headers: Vec::new(),
            data: None,
            url: Vec::new(),
        };
        let mut url = None;
        let mut rest = words.iter();
        while let Some(word) = rest.next() {
            let option = literal(word).filter(|w| w.starts_with('-'));
            let mut value = || {
                rest.next().cloned().ok_or_else(|| {
                    format!(
                        "curl {} without its value",
                        option.clone().unwrap_or_default()
                    )
                })
            };
            match option.as_deref() {
                Some("-s" | "--silent" | "-S" | "--show-error" | "-sS") => {}
                Some("-X" | "--request") => curl.method = Some(value()?),
                Some("-H" | "--header") => curl.headers.push(value()?),
                Some("-d" | "--data" | "--data-raw" | "--data-binary") => {
                    curl.data = Some(value()?)
                }
                Some(other) => {
                    return Err(format!("curl {other}, which the test's curl does not know"));
                }
                None if url.is_none() => url = Some(word.clone()),
                None => return Err("curl with two URLs".into()),
            }
        }
        curl.url = url.ok_or("curl without a URL")?;
        Ok(curl)
    }
}

/// Where the docs' curl commands run: the hosts they name, and the live credentials.
pub(super) struct Target {
    pub(super) name: &'static str,
    /// host:port in the docs → host:port here.
    pub(super) hosts: BTreeMap<String, String>,
    /// connector → its token (`TOKEN=…`).
    pub(super) tokens: BTreeMap<String, String>,
    /// The admin API's token (`ADMIN=…`).
    pub(super) admin: Option<String>,
}

impl Target {
    fn host(&self, url: &str) -> Result<String, String> {
        let from = authority(url);
        let to = self.hosts.get(from).ok_or_else(|| {
            format!(
                "{from} is none of the hosts the {} has ({})",
                self.name,
                self.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(url.replacen(from, to, 1))
    }
}

/// A shell variable of a block: a value, or `…` (the live one).
#[derive(Clone)]
enum Variable {
    Value(String),
    LiveToken,
}

/// Runs the curl lines of one block against `target`; `Err` names the line that failed.
pub(super) fn run_block(http: &Http, target: &Target, lines: &[&Line]) -> Result<usize, String> {
    let mut vars: BTreeMap<String, Variable> = BTreeMap::new();
    let mut last_id: Option<String> = None;
    let mut ran = 0;
    for line in lines {
        let fail = |e: String| format!("{}: {e}\n    {}", line.at(), line.text);
        match classify(line).map_err(fail)? {
            Kind::Assign { name, value } => {
                let text = expand(&value, &vars, None).map_err(fail)?;
                let variable =
                    if text.contains('…') {
                        match name.as_str() {
                            "TOKEN" => Variable::LiveToken,
                            "ID" => Variable::Value(last_id.clone().ok_or_else(|| {
                                fail("ID=… before any POST answered an id".into())
                            })?),
                            "ADMIN" => Variable::Value(target.admin.clone().ok_or_else(|| {
                                fail(format!("the {} has no admin API", target.name))
                            })?),
                            other => return Err(fail(format!("no live value for {other}=…"))),
                        }
                    } else {
                        Variable::Value(text)
                    };
                vars.insert(name, variable);
            }
            Kind::Curl(words) => {
                let curl = Curl::parse(&words).map_err(fail)?;
                let url = target
                    .host(&expand(&curl.url, &vars, None).map_err(fail)?)
                    .map_err(fail)?;
                // TOKEN=… is the token of the connector the request goes to.
                let connector = url
                    .split("/scim/v2/")
                    .nth(1)
                    .and_then(|rest| rest.split(['/', '?']).next())
                    .map(str::to_owned);
                let token = connector.as_ref().and_then(|c| target.tokens.get(c));
                let method = match &curl.method {
                    Some(m) => expand(m, &vars, token).map_err(fail)?,
                    None if curl.data.is_some() => "POST".into(),
                    None => "GET".into(),
                };
                let mut headers = Vec::new();
                for header in &curl.headers {
                    let text = expand(header, &vars, token).map_err(fail)?;
                    let (name, value) = text
                        .split_once(':')
                        .ok_or_else(|| fail(format!("a header without a colon: {text}")))?;
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
                let data = curl
                    .data
                    .as_ref()
                    .map(|d| expand(d, &vars, token))
                    .transpose()
                    .map_err(fail)?;
                if data.is_some()
                    && !headers
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                {
                    // What curl sends with -d.
                    headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                let (status, body) = http
                    .send(&method, &url, &headers, data.as_deref())
                    .map_err(fail)?;
                if !(200..300).contains(&status) {
                    return Err(fail(format!(
                        "{method} {url} answered {status} against the {}: {body}",
                        target.name
                    )));
                }
                let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if let Some(operations) = json
                    .get("schemas")
                    .filter(|s| s.to_string().contains("BulkResponse"))
                    .and(json.get("Operations"))
                    .and_then(Value::as_array)
                {
                    for op in operations {
                        let status = op["status"].as_str().unwrap_or_default();
                        if !status.starts_with('2') {
                            return Err(fail(format!("a Bulk operation answered {status}: {op}")));
                        }
                    }
                }
                if method == "POST"
                    && status == 201
                    && let Some(id) = json["id"].as_str()
                {
                    last_id = Some(id.to_owned());
                }
                println!(
                    "ran {} against the {}: {method} {url} -> {status}",
                    line.at(),
                    target.name
                );
                ran += 1;
            }
            Kind::Elsewhere(_) => {}
            other => {
                return Err(fail(format!(
                    "a block of curl commands also runs {other:?}; put it in a block of its own"
                )));
            }
        }
    }
    Ok(ran)
}

/// A word with its variables put in; `$TOKEN` set to `…` is `token`.
fn expand(
    word: &[Seg],
    vars: &BTreeMap<String, Variable>,
    token: Option<&String>,
) -> Result<String, String> {
    let mut out = String::new();
    for seg in word {
        match seg {
            Seg::Lit(text) => out.push_str(text),
            Seg::Var(name) => match vars.get(name) {
                Some(Variable::Value(value)) => out.push_str(value),
                Some(Variable::LiveToken) => out.push_str(token.ok_or_else(|| {
                    "$TOKEN=… in a request to no connector this target has a token for".to_owned()
                })?),
                None => return Err(format!("${name} is set nowhere in its block")),
            },
        }
    }
    Ok(out)
}

/// The curl-bearing blocks, each as its lines, for the target `pick` chooses.
pub(super) fn curl_blocks(compose: bool) -> Vec<Vec<Line>> {
    let (lines, _) = all_lines();
    let mut by_block: BTreeMap<(String, usize), Vec<Line>> = BTreeMap::new();
    let mut order = Vec::new();
    for line in lines {
        let key = (line.file.clone(), line.block);
        if !by_block.contains_key(&key) {
            order.push(key.clone());
        }
        by_block.entry(key).or_default().push(line);
    }
    order
        .into_iter()
        .filter_map(|key| by_block.remove(&key))
        .filter(|lines| {
            lines
                .iter()
                .any(|l| matches!(classify(l), Ok(Kind::Curl(_))))
        })
        .filter(|lines| {
            let composed = lines.iter().any(|l| {
                (l.file == "README.md" && l.section == "Running with Docker Compose")
                    || l.text.contains("$ADMIN")
            });
            composed == compose
        })
        .collect()
}
