//! `POST /api/dialplans/test`: the CLI's `dialplan test`, answered with the
//! running files and everything the database adds (its trunks, the groups of
//! its users).

use std::sync::Arc;

use anyhow::Context;
use sb_store::Store;

use crate::config::Config;
use crate::dialplan_edit::{DialplanFiles, EditError};
use crate::dialplans::{RouteQuestion, explain_with};

/// The decision for `q`, as the CLI prints it.
pub(crate) async fn explain(
    config: &Config,
    store: &Store,
    files: &Arc<DialplanFiles>,
    q: &RouteQuestion,
) -> anyhow::Result<String> {
    let plan = files.current().await.map_err(|e| match e {
        EditError::Invalid(_) => anyhow::anyhow!("the dialplan does not compile: {e}"),
        other => anyhow::anyhow!("{other}"),
    })?;
    let trunks = crate::policy::trunk_definitions(config, store).await?;
    let mut groups = config.user_groups();
    for user in store
        .user_directory()
        .await
        .context("cannot read the users")?
    {
        groups
            .entry(user.username.to_ascii_lowercase())
            .or_default()
            .extend(user.groups);
    }
    explain_with(&plan, config, &trunks, &groups, q)
}
