//! `provenance`: which build a publish would use (release_core::provenance).

use release_core::{
    ReleaseTarget, Report,
    provenance::{self, Which},
};

use crate::{
    cli::{Common, ProvenanceArgs},
    repo_checks::open,
};

pub fn provenance(common: &Common, args: ProvenanceArgs) -> anyhow::Result<Report> {
    let cx = open(common)?;
    let which = match (args.run_id, &args.tag) {
        (Some(id), _) => Which::Run(id),
        (None, Some(tag)) => Which::Tag(ReleaseTarget::parse(tag)?),
        (None, None) => anyhow::bail!("give --run-id ID or --tag vX.Y.Z"),
    };
    let expect = args.expect_tag.as_deref().map(ReleaseTarget::parse).transpose()?;
    provenance::check(&cx, &which, expect.as_ref())
}
