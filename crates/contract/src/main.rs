//! `wix-contract-check DIR`: checks the wire crate against the generated packages in `DIR` (a
//! `node_modules/@wix` directory). Prints one line per drift and a summary; exits 0 with no
//! drift, 1 with any, 2 when the packages can't be read.
//! `wix-contract-check --packages`: the pinned packages to install, one `name@version` a line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wix_contract_check::{check, sdk};
use wix_media_wire::contract::{ALLOWED, SDK_PACKAGES, endpoints};

fn run(dir: PathBuf) -> anyhow::Result<bool> {
    let contract = sdk::load(&dir)
        .with_context(|| format!("reading the generated packages in {}", dir.display()))?;
    let outcome = check::check(&contract, &endpoints(), ALLOWED);
    for drift in &outcome.drifts {
        println!("{drift}");
    }
    println!("{}", outcome.summary());
    Ok(outcome.drifts.is_empty())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!(
            "usage: wix-contract-check DIR | --packages  (DIR: a node_modules/@wix directory)"
        );
        return ExitCode::from(2);
    };
    if dir == "--packages" {
        for (name, version) in SDK_PACKAGES {
            println!("{name}@{version}");
        }
        return ExitCode::SUCCESS;
    }
    match run(PathBuf::from(dir)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("wix-contract-check: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
