//! The examples every command's `--help` ends with, by command path. A test parses each one, so an
//! example always matches the command line it shows.

use clap::Command;

/// Example command lines by command path (`""`: `dbops` itself).
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "dbops migrate up",
            "dbops backup --store s3://acme-backups/prod",
            "dbops pitr restore --store s3://acme-backups/prod-pitr --target-time \"2024-01-15 14:04:00\" --data-dir /var/lib/dbops/restored --start",
        ],
    ),
    ("cluster", &["dbops cluster start --tcp --print-url"]),
    (
        "cluster start",
        &["dbops cluster start --name ci --in-memory --set work_mem=64MB"],
    ),
    ("cluster stop", &["dbops cluster stop --name ci"]),
    ("cluster status", &["dbops cluster status --json"]),
    ("migrate", &["dbops migrate --source db/migrations up"]),
    (
        "migrate up",
        &[
            "dbops migrate up --to 8",
            "dbops migrate up --max-blocking 5 --backup-to s3://acme-backups/prod",
        ],
    ),
    ("migrate down", &["dbops migrate down 2"]),
    ("migrate goto", &["dbops migrate goto 6"]),
    ("migrate version", &["dbops migrate version"]),
    ("migrate force", &["dbops migrate force 7"]),
    ("migrate status", &["dbops migrate status --json"]),
    ("migrate create", &["dbops migrate create \"add tips\""]),
    (
        "migrate drop",
        &["dbops migrate drop --confirm ridehailing_dev"],
    ),
    ("migrate plan", &["dbops migrate plan --fail-on-risk"]),
    ("migrate verify", &["dbops migrate verify --skip-rollback"]),
    (
        "migrate lint",
        &["dbops migrate lint --fail-on warning migrations/000009_add_tips.up.sql"],
    ),
    (
        "health",
        &["dbops health serve --listen 0.0.0.0:8080 --store s3://acme-backups/prod"],
    ),
    (
        "health serve",
        &["dbops health serve --listen 0.0.0.0:8080"],
    ),
    ("health check", &["dbops health check --json"]),
    ("db", &["dbops db status --long-running 30"]),
    ("db status", &["dbops db status --long-running 30 --json"]),
    ("db kill", &["dbops db kill 4242 --yes"]),
    ("db reset", &["dbops db reset --seed light"]),
    (
        "seed",
        &[
            "dbops seed light",
            "dbops seed heavy --scale 10 --seed 7 --truncate",
            "dbops seed --file seeds/team.sql",
        ],
    ),
    (
        "backup",
        &[
            "dbops backup --store s3://acme-backups/prod --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        ],
    ),
    (
        "backup create",
        &["dbops backup create --store file:///var/backups --compression zstd --jobs 4"],
    ),
    (
        "backup list",
        &["dbops backup list --store s3://acme-backups/prod"],
    ),
    (
        "backup show",
        &["dbops backup show --store s3://acme-backups/prod"],
    ),
    (
        "backup verify",
        &[
            "dbops backup verify --store s3://acme-backups/prod --restore-test --identity backup-key.txt",
        ],
    ),
    (
        "backup prune",
        &[
            "dbops backup prune --store s3://acme-backups/prod --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --apply",
        ],
    ),
    (
        "backup health",
        &[
            "dbops backup health --store s3://acme-backups/prod --full --metrics-file /var/lib/node_exporter/dbops.prom",
        ],
    ),
    ("backup keygen", &["dbops backup keygen"]),
    (
        "restore",
        &[
            "dbops restore --store s3://acme-backups/prod --into ridehailing_restored --create",
            "dbops restore --store s3://acme-backups/prod --before \"2024-01-15 12:00:00\" --clean --identity backup-key.txt",
        ],
    ),
    ("mask", &["dbops mask init -o masking.toml"]),
    (
        "mask check",
        &["dbops mask check masking.toml --store s3://acme-backups/prod"],
    ),
    ("mask init", &["dbops mask init -o masking.toml"]),
    (
        "wal",
        &["dbops wal push --store s3://acme-backups/prod-pitr pg_wal/000000010000000000000001"],
    ),
    (
        "wal push",
        &[
            "dbops wal push --store s3://acme-backups/prod-pitr --deadline 60 pg_wal/000000010000000000000001",
        ],
    ),
    (
        "wal fetch",
        &[
            "dbops wal fetch --store s3://acme-backups/prod-pitr 000000010000000000000001 pg_wal/RECOVERYXLOG",
        ],
    ),
    (
        "wal prefetch",
        &[
            "dbops wal prefetch --store s3://acme-backups/prod-pitr 000000010000000000000001 pg_wal/RECOVERYXLOG",
        ],
    ),
    (
        "basebackup",
        &[
            "dbops basebackup --store s3://acme-backups/prod-pitr",
            "dbops basebackup --store s3://acme-backups/prod-pitr --incremental --full-if-unsupported",
        ],
    ),
    (
        "pitr",
        &["dbops pitr status --store s3://acme-backups/prod-pitr"],
    ),
    (
        "pitr restore",
        &[
            "dbops pitr restore --store s3://acme-backups/prod-pitr --target-time \"2024-01-15 14:04:00\" --data-dir /var/lib/dbops/restored --start --name restored",
            "dbops pitr restore --store s3://acme-backups/prod-pitr --restore-point before_migration_42 --data-dir /var/lib/postgresql/15/main --delta",
        ],
    ),
    (
        "pitr restore-point",
        &["dbops pitr restore-point before_migration_42"],
    ),
    (
        "pitr status",
        &["dbops pitr status --store s3://acme-backups/prod-pitr --json"],
    ),
    (
        "pitr verify",
        &["dbops pitr verify --store s3://acme-backups/prod-pitr"],
    ),
    (
        "pitr setup",
        &["dbops pitr setup --store s3://acme-backups/prod-pitr --apply"],
    ),
    (
        "pitr prune",
        &["dbops pitr prune --store s3://acme-backups/prod-pitr --keep 4 --apply"],
    ),
];

/// The examples of the command at `path` (words joined by spaces; `""` for `dbops`).
fn examples_of(path: &str) -> Option<&'static [&'static str]> {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, lines)| *lines)
}

/// `command` and every subcommand with their examples at the end of `--help`.
pub(crate) fn with_examples(command: Command) -> Command {
    add(command, "")
}

fn add(mut command: Command, path: &str) -> Command {
    if let Some(lines) = examples_of(path) {
        let text = lines
            .iter()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n");
        let guide = if path.is_empty() {
            "\n\nEnvironment variables, exit codes and a page per task: the guide (docs/ in the \
             repository: `mdbook serve docs`), its page \"The CLI\"."
        } else {
            ""
        };
        command = command.after_help(format!("Examples:\n{text}{guide}"));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| add(sub, &sub_path));
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command path of the tree but clap's own `help`.
    fn paths(command: &Command, path: &str, out: &mut Vec<String>) {
        out.push(path.to_string());
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let sub_path = format!("{path} {}", sub.get_name()).trim().to_string();
            paths(sub, &sub_path, out);
        }
    }

    /// Splits an example like a shell would (double quotes only).
    fn words(line: &str) -> Vec<String> {
        let (mut out, mut word, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        out.push(word);
        out
    }

    #[test]
    fn every_command_has_an_example_and_every_example_a_command() {
        let mut all = Vec::new();
        paths(&crate::Cli::command(), "", &mut all);
        let missing: Vec<_> = all.iter().filter(|p| examples_of(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
        let stale: Vec<_> = EXAMPLES
            .iter()
            .filter(|(p, _)| !all.iter().any(|a| a == p))
            .map(|(p, _)| p)
            .collect();
        assert!(stale.is_empty(), "examples of no command: {stale:?}");
    }

    #[test]
    fn every_example_parses_as_the_command_it_shows() {
        for (path, lines) in EXAMPLES {
            for line in *lines {
                let matches = with_examples(crate::Cli::command())
                    .try_get_matches_from(words(line))
                    .unwrap_or_else(|e| {
                        panic!("`{line}` (example of `{path}`) does not parse: {e}")
                    });
                let parsed = crate::command_path(&matches);
                assert!(
                    parsed.starts_with(&format!("dbops {path}").trim_end().to_string()),
                    "`{line}` is an example of `{path}` but runs `{parsed}`"
                );
            }
        }
    }

    #[test]
    fn the_help_of_a_command_ends_with_its_examples() {
        let mut command = with_examples(crate::Cli::command());
        let help = command
            .find_subcommand_mut("backup")
            .and_then(|backup| backup.find_subcommand_mut("verify"))
            .expect("backup verify")
            .render_long_help()
            .to_string();
        assert!(
            help.trim_end().ends_with(
                "Examples:\n  dbops backup verify --store s3://acme-backups/prod --restore-test --identity backup-key.txt"
            ),
            "{help}"
        );
    }
}
