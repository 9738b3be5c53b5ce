//! `notices`: licence and notice files (release_core::notices).

use release_core::{Report, notices};

use crate::{
    cli::{Common, NoticesArgs},
    repo_checks::open,
};

pub fn notices(common: &Common, args: NoticesArgs) -> anyhow::Result<Report> {
    let cx = open(common)?;
    notices::check(&cx.repo, &cx.policy.notices, &args.paths)
}
