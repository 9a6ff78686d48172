//! Creating, controlling and listing strategies.

use super::*;

pub(super) async fn create_strategy(
    deps: &SessionDeps,
    r: &Reply<'_>,
    n: NewStrategy,
) -> Result<Response, Failure> {
    Ok({
        let mut view = ask(deps, &deps.strategies, CreateStrategy(n))
            .await?
            .map_err(refused)?;
        stamp(deps, std::slice::from_mut(&mut view));
        r.ok(format!("Strategy '{}' created", view.name))
            .with("instance_id", &view.id)
            .with("strategy", &view)
    })
}

pub(super) async fn control_strategy(
    deps: &SessionDeps,
    r: &Reply<'_>,
    id: String,
    action: StrategyAction,
) -> Result<Response, Failure> {
    Ok({
        let (mut view, cancelled) = ask(deps, &deps.strategies, ControlStrategy { id, action })
            .await?
            .map_err(refused)?;
        stamp(deps, std::slice::from_mut(&mut view));
        let mut r = r
            .ok(format!("Strategy {} {}", view.id, action.past_tense()))
            .with("instance_id", &view.id)
            .with("strategy", &view);
        if action == StrategyAction::Stop {
            r = r.with("cancelled_count", &cancelled);
        }
        r
    })
}

pub(super) async fn get_strategies(deps: &SessionDeps, r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let mut list = ask(deps, &deps.strategies, GetStrategies).await?;
        stamp(deps, &mut list);
        r.ok(format!("{} strategies", list.len()))
            .with("count", &list.len())
            .with("strategies", &list)
    })
}

pub(super) async fn get_strategy_types(r: &Reply<'_>) -> Result<Response, Failure> {
    Ok({
        let types = strategy_types();
        r.ok(format!("{} strategy types", types.len()))
            .with("types", &types)
    })
}
