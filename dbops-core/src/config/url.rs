//! [`DatabaseUrl`]: a parsed PostgreSQL connection string that never prints its password.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::error::{Error, Result};

/// Characters kept as-is when a URL component is written back.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`COMPONENT`], but socket directories keep their `/` and host lists their `,` readable.
const HOST_PARAM: &AsciiSet = &COMPONENT.remove(b'/').remove(b',');

/// What `Display` and `Debug` print in place of a password.
pub const REDACTED: &str = "********";

/// A PostgreSQL connection string, parsed.
///
/// Accepts both forms libpq accepts: `postgres://user:pass@host:port/db?sslmode=require` URLs (also
/// `postgresql://`, several `host:port` pairs, percent-encoded unix socket directories, `?host=/dir`)
/// and `key=value` strings (`host=db user=app password='s3 cret' dbname=app`).
///
/// `Display` and `Debug` replace the password with `********`; use [`DatabaseUrl::expose`] when the
/// full string must be handed to another client library.
///
/// ```
/// use dbops::DatabaseUrl;
///
/// let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5433/orders?sslmode=require")?;
/// assert_eq!(url.to_string(), "postgresql://app:********@db.internal:5433/orders?sslmode=require");
/// // The same connection as a key=value string.
/// let same = "host=db.internal port=5433 user=app password=s3cret dbname=orders sslmode=require";
/// assert_eq!(url, DatabaseUrl::parse(same)?);
/// let reports = url.with_database("reports"); // the same server and role, another database
/// assert_eq!(reports.database(), "reports");
/// # Ok::<(), dbops::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    hosts: Vec<String>,
    ports: Vec<u16>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    params: BTreeMap<String, String>,
}

impl DatabaseUrl {
    /// Parses a URL or a `key=value` connection string.
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.contains('\0') {
            return Err(invalid(
                trimmed,
                "contains a NUL character, which no PostgreSQL client can send",
            ));
        }
        if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
            parse_url(trimmed)
        } else if trimmed.contains('=') {
            parse_key_value(trimmed)
        } else {
            Err(invalid(
                trimmed,
                "expected `postgres://user@host:port/db` or `host=... dbname=...`",
            ))
        }
    }

    /// Reads `DATABASE_URL` from the environment, if set and non-empty.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var("DATABASE_URL") {
            Ok(value) if !value.trim().is_empty() => Self::parse(&value).map(Some),
            _ => Ok(None),
        }
    }

    /// A URL for a unix socket directory (`host` is the directory, as with libpq).
    pub fn unix_socket(dir: &str, port: u16, user: &str, dbname: &str) -> Self {
        DatabaseUrl {
            hosts: vec![dir.to_string()],
            ports: vec![port],
            user: Some(user.to_string()),
            password: None,
            dbname: Some(dbname.to_string()),
            params: BTreeMap::new(),
        }
    }

    /// A URL for a TCP host and port.
    pub fn tcp(host: &str, port: u16, user: &str, password: Option<&str>, dbname: &str) -> Self {
        DatabaseUrl {
            hosts: vec![host.to_string()],
            ports: vec![port],
            user: Some(user.to_string()),
            password: password.map(str::to_string),
            dbname: Some(dbname.to_string()),
            params: BTreeMap::new(),
        }
    }

    /// The hosts (names, addresses or absolute unix socket directories), in order.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The first host, or `localhost` when none is given (libpq would try its default socket).
    pub fn host(&self) -> &str {
        self.hosts
            .first()
            .map(String::as_str)
            .unwrap_or("localhost")
    }

    /// The first port, or 5432.
    pub fn port(&self) -> u16 {
        self.ports.first().copied().unwrap_or(5432)
    }

    /// Every port given, in host order (may be empty: libpq then uses 5432).
    pub fn port_list(&self) -> &[u16] {
        &self.ports
    }

    /// Whether the first host is a unix socket directory.
    pub fn is_unix_socket(&self) -> bool {
        self.host().starts_with('/')
    }

    /// The user name, if one is given.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The user name libpq would use: the given one, else `PGUSER`, else the OS user.
    pub fn effective_user(&self) -> String {
        if let Some(user) = &self.user {
            return user.clone();
        }
        if let Ok(user) = std::env::var("PGUSER") {
            return user;
        }
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| "postgres".to_string())
    }

    /// The password, if one is given. This is a secret: never log it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database name: the given one, else the effective user name (libpq's rule).
    pub fn database(&self) -> String {
        self.dbname.clone().unwrap_or_else(|| self.effective_user())
    }

    /// Extra parameters (`sslmode`, `application_name`, `connect_timeout`, ...).
    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    /// One extra parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// Removes one extra parameter and returns its value (for parameters meant for dbops, not the
    /// server, such as golang-migrate's `x-migrations-table`).
    pub fn take_param(&mut self, key: &str) -> Option<String> {
        self.params.remove(key)
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, dbname: &str) -> Self {
        let mut out = self.clone();
        out.dbname = Some(dbname.to_string());
        out
    }

    /// The same server and database, another user (and no password unless given).
    pub fn with_user(&self, user: &str, password: Option<&str>) -> Self {
        let mut out = self.clone();
        out.user = Some(user.to_string());
        out.password = password.map(str::to_string);
        out
    }

    /// The same connection string with one parameter set.
    pub fn with_param(&self, key: &str, value: &str) -> Self {
        let mut out = self.clone();
        out.params.insert(key.to_string(), value.to_string());
        out
    }

    /// The full URL, password included, for handing to another client library. Never log it.
    pub fn expose(&self) -> String {
        self.render(false)
    }

    /// The URL with the password replaced by `********` (what `Display` prints).
    pub fn redacted(&self) -> String {
        self.render(true)
    }

    fn render(&self, redact: bool) -> String {
        let mut out = String::from("postgresql://");
        if self.user.is_some() || self.password.is_some() {
            if let Some(user) = &self.user {
                out.push_str(&utf8_percent_encode(user, COMPONENT).to_string());
            }
            if let Some(password) = &self.password {
                out.push(':');
                if redact {
                    out.push_str(REDACTED);
                } else {
                    out.push_str(&utf8_percent_encode(password, COMPONENT).to_string());
                }
            }
            out.push('@');
        }
        let mut params = self.params.clone();
        // Socket directories read best as query parameters (postgresql://u@/db?host=/tmp/x&port=5432),
        // and hosts that cannot stand in the authority (a `:` outside an IPv6 address) must go there.
        let query_hosts = self.hosts.iter().any(|h| {
            h.starts_with('/') || (h.contains(':') && h.parse::<std::net::Ipv6Addr>().is_err())
        });
        if query_hosts {
            params.insert("host".into(), self.hosts.join(","));
            if !self.ports.is_empty() {
                let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
                params.insert("port".into(), ports.join(","));
            }
        } else {
            if self.hosts.is_empty() && !self.ports.is_empty() {
                let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
                params.insert("port".into(), ports.join(","));
            }
            let pairs: Vec<String> = self
                .hosts
                .iter()
                .enumerate()
                .map(|(i, host)| {
                    let host = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        utf8_percent_encode(host, COMPONENT).to_string()
                    };
                    match self.ports.get(i).or(self.ports.last()) {
                        Some(port) => format!("{host}:{port}"),
                        None => host,
                    }
                })
                .collect();
            out.push_str(&pairs.join(","));
        }
        out.push('/');
        if let Some(db) = &self.dbname {
            out.push_str(&utf8_percent_encode(db, COMPONENT).to_string());
        }
        if !params.is_empty() {
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    let value = if k == "host" {
                        utf8_percent_encode(v, HOST_PARAM).to_string()
                    } else {
                        utf8_percent_encode(v, COMPONENT).to_string()
                    };
                    format!("{}={value}", utf8_percent_encode(k, COMPONENT))
                })
                .collect();
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl FromStr for DatabaseUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl serde::Serialize for DatabaseUrl {
    /// Serializes the redacted form: secrets never reach JSON output.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// Redacts whatever looks like a password in a connection string, even one that does not parse.
pub fn redact_raw(input: &str) -> String {
    if let Some((scheme, rest)) = input.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some(at) = authority.rfind('@') {
            let (userinfo, hosts) = authority.split_at(at);
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:{REDACTED}{hosts}{}", redact_query(tail));
            }
        }
        return format!("{scheme}://{authority}{}", redact_query(tail));
    }
    let mut out = String::new();
    let mut rest = input;
    while let Some(pos) = rest.find("password") {
        out.push_str(&rest[..pos]);
        out.push_str("password=");
        out.push_str(REDACTED);
        let after = &rest[pos + "password".len()..];
        let after = after.trim_start().trim_start_matches('=').trim_start();
        let skip = if let Some(stripped) = after.strip_prefix('\'') {
            let mut escaped = false;
            let mut end = stripped.len();
            for (i, c) in stripped.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '\'' {
                    end = i + 1;
                    break;
                }
            }
            1 + end
        } else {
            after.find(char::is_whitespace).unwrap_or(after.len())
        };
        rest = &after[skip.min(after.len())..];
    }
    out.push_str(rest);
    out
}

fn redact_query(tail: &str) -> String {
    match tail.split_once('?') {
        Some((path, query)) => {
            let parts: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                        format!("{k}={REDACTED}")
                    }
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", parts.join("&"))
        }
        None => tail.to_string(),
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    let mut url = redact_raw(input);
    let mut reason = reason.into();
    // A malformed string may place the password where the parser did not expect it (and so where
    // `redact_raw` does not look): scrub every plausible password from both texts.
    for secret in secret_candidates(input) {
        url = url.replace(&secret, REDACTED);
        reason = reason.replace(&secret, REDACTED);
    }
    Error::InvalidUrl { url, reason }
}

/// Everything in `input` that could be a password: between `user:` and any later `@` of a URL, and
/// the values of `password` keys.
fn secret_candidates(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, rest)) = input.split_once("://") {
        for (colon, _) in rest.match_indices(':') {
            for (at, _) in rest.match_indices('@').filter(|(at, _)| *at > colon) {
                let password = &rest[colon + 1..at];
                out.push(password.to_string());
                if let Ok(decoded) = percent_decode_str(password).decode_utf8() {
                    out.push(decoded.into_owned());
                }
            }
        }
    }
    let mut rest = input;
    while let Some(pos) = rest.find("password") {
        let after = rest[pos + "password".len()..]
            .trim_start()
            .trim_start_matches('=')
            .trim_start();
        let value: String = if let Some(quoted) = after.strip_prefix('\'') {
            quoted.split('\'').next().unwrap_or_default().to_string()
        } else {
            after
                .split(|c: char| c.is_whitespace() || c == '&')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        if !value.is_empty() {
            out.push(value);
        }
        rest = &rest[pos + "password".len()..];
    }
    out.retain(|s| s.len() >= 2);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

fn decode(input: &str, part: &str, raw: &str) -> Result<String> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid(input, format!("`{raw}` is not valid percent-encoded UTF-8")))
}

fn parse_port(input: &str, text: &str) -> Result<u16> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(invalid(
            input,
            format!("port `{text}` is not a number between 1 and 65535"),
        )),
    }
}

fn parse_url(input: &str) -> Result<DatabaseUrl> {
    let rest = input.split_once("://").map(|(_, r)| r).unwrap_or(input);
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(pos) => (&before_query[..pos], Some(&before_query[pos + 1..])),
        None => (before_query, None),
    };
    let mut url = DatabaseUrl {
        hosts: Vec::new(),
        ports: Vec::new(),
        user: None,
        password: None,
        dbname: None,
        params: BTreeMap::new(),
    };
    let hostlist = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, password)) => {
                    // `postgresql://:secret@host`: a password with the default user.
                    url.user = (!user.is_empty())
                        .then(|| decode(input, user, "user"))
                        .transpose()?;
                    // An empty password is no password, as for libpq.
                    url.password = (!password.is_empty())
                        .then(|| decode(input, password, "password"))
                        .transpose()?;
                }
                None => url.user = Some(decode(input, userinfo, "user")?),
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    if url.user.as_deref() == Some("") {
        url.user = None;
    }
    if !hostlist.is_empty() {
        let mut ports = Vec::new();
        for pair in hostlist.split(',') {
            let (host, port) = split_host_port(input, pair)?;
            if !host.is_empty() {
                let host = decode(input, host, host)?;
                check_host(input, &host)?;
                url.hosts.push(host);
            }
            ports.push(port.map(|p| parse_port(input, p)).transpose()?);
        }
        // As libpq: a host without a port uses 5432, even when other hosts name theirs.
        if ports.iter().any(Option::is_some) {
            url.ports = ports.into_iter().map(|p| p.unwrap_or(5432)).collect();
        }
    }
    if let Some(path) = path
        && !path.is_empty()
    {
        url.dbname = Some(decode(input, path, path)?);
    }
    if let Some(query) = query {
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            let (key, value) = kv
                .split_once('=')
                .ok_or_else(|| invalid(input, format!("query parameter `{kv}` has no `=`")))?;
            let key = decode(input, key, key)?;
            let value = decode(input, value, &key)?;
            url.set(input, &key, value)?;
        }
    }
    Ok(url)
}

/// A host is a name, an IPv4/IPv6 address or an absolute socket directory: no `@`, and `:` only in
/// an IPv6 address.
fn check_host(input: &str, host: &str) -> Result<()> {
    let socket = host.starts_with('/') || host.starts_with('@');
    if !socket
        && (host.contains('@')
            || (host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err()))
    {
        return Err(invalid(
            input,
            format!(
                "`{host}` is not a host name or address (percent-encode `@` and `:` in user names and passwords)"
            ),
        ));
    }
    Ok(())
}

fn split_host_port<'a>(input: &str, pair: &'a str) -> Result<(&'a str, Option<&'a str>)> {
    if let Some(stripped) = pair.strip_prefix('[') {
        let end = stripped
            .find(']')
            .ok_or_else(|| invalid(input, format!("unterminated IPv6 address in `{pair}`")))?;
        let host = &stripped[..end];
        let after = &stripped[end + 1..];
        let port = after.strip_prefix(':');
        if !after.is_empty() && port.is_none() {
            return Err(invalid(
                input,
                format!("unexpected `{after}` after `[{host}]`"),
            ));
        }
        return Ok((host, port));
    }
    match pair.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((pair, None)),
    }
}

fn parse_key_value(input: &str) -> Result<DatabaseUrl> {
    let mut url = DatabaseUrl {
        hosts: Vec::new(),
        ports: Vec::new(),
        user: None,
        password: None,
        dbname: None,
        params: BTreeMap::new(),
    };
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(invalid(input, format!("expected `=` after `{key}`")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some(escaped) => value.push(escaped),
                        None => break,
                    },
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            if !closed {
                return Err(invalid(
                    input,
                    format!("unterminated quoted value for `{key}`"),
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        url.set(input, &key, value)?;
    }
    Ok(url)
}

impl DatabaseUrl {
    fn set(&mut self, input: &str, key: &str, value: String) -> Result<()> {
        match key {
            "host" | "hostaddr" => {
                self.hosts = value
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(|h| check_host(input, h).map(|()| h.to_string()))
                    .collect::<Result<_>>()?
            }
            "port" => {
                self.ports = value
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| parse_port(input, p))
                    .collect::<Result<_>>()?
            }
            "user" => self.user = Some(value),
            "password" => self.password = (!value.is_empty()).then_some(value),
            "dbname" => self.dbname = Some(value),
            "sslmode" => {
                const MODES: [&str; 6] = [
                    "disable",
                    "allow",
                    "prefer",
                    "require",
                    "verify-ca",
                    "verify-full",
                ];
                if !MODES.contains(&value.as_str()) {
                    return Err(invalid(
                        input,
                        format!("sslmode `{value}` is not one of {}", MODES.join(", ")),
                    ));
                }
                self.params.insert(key.to_string(), value);
            }
            "" => return Err(invalid(input, "empty parameter name")),
            _ => {
                self.params.insert(key.to_string(), value);
            }
        }
        Ok(())
    }
}
