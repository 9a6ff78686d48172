//! Backtests and the data they replay.

use super::*;

pub(super) async fn start_backtest(
    deps: &SessionDeps,
    r: &Reply<'_>,
    new: NewBacktest,
) -> Result<Response, Failure> {
    Ok({
        let view = ask(deps, &deps.backtests, StartBacktest(new))
            .await?
            .map_err(refused)?;
        with_backtest(r.ok(format!("Backtest {} queued", view.backtest_id)), &view)
    })
}

pub(super) async fn get_backtest(
    deps: &SessionDeps,
    r: &Reply<'_>,
    id: String,
) -> Result<Response, Failure> {
    Ok({
        let view = ask(deps, &deps.backtests, GetBacktest(id))
            .await?
            .map_err(refused)?;
        with_backtest(
            r.ok(format!("Backtest {} {}", view.backtest_id, view.status)),
            &view,
        )
        .with("progress", &view.progress)
        .with("result", &view.result)
    })
}

pub(super) async fn cancel_backtest(
    deps: &SessionDeps,
    r: &Reply<'_>,
    id: String,
) -> Result<Response, Failure> {
    Ok({
        let view = ask(deps, &deps.backtests, CancelBacktest(id))
            .await?
            .map_err(refused)?;
        with_backtest(
            r.ok(format!("Backtest {} cancelled", view.backtest_id)),
            &view,
        )
    })
}

pub(super) async fn get_backtests(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let list = ask(deps, &deps.backtests, GetBacktests).await?;
        r.ok(format!("{} backtests", list.len()))
            .with("count", &list.len())
            .with("backtests", &list)
    })
}

pub(super) async fn get_data_files(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let files = ask(deps, &deps.backtests, GetDataFiles)
            .await?
            .map_err(refused)?;
        r.ok(format!("{} data files", files.len()))
            .with("count", &files.len())
            .with("files", &files)
    })
}
