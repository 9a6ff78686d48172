//! Exchange connections.

use super::*;

pub(super) async fn create_connection(
    deps: &SessionDeps,
    r: &Reply<'_>,
    n: NewConnection,
) -> Result<Response, Failure> {
    Ok({
        let view = ask(deps, &deps.connections, CreateConnection(n))
            .await?
            .map_err(refused)?;
        r.ok(format!("Connection {} ({}) created", view.id, view.name))
            .with("connection_id", &view.id)
            .with("connection", &view)
    })
}

pub(super) async fn delete_connection(
    deps: &SessionDeps,
    r: &Reply<'_>,
    id: String,
) -> Result<Response, Failure> {
    Ok({
        let view = ask(deps, &deps.connections, DeleteConnection(id))
            .await?
            .map_err(refused)?;
        r.ok(format!("Connection {} deleted", view.id))
            .with("connection_id", &view.id)
            .with("connection", &view)
    })
}

pub(super) async fn test_connection(
    deps: &SessionDeps,
    r: &Reply<'_>,
    id: String,
) -> Result<Response, Failure> {
    Ok({
        let answer = ask(deps, &deps.connections, TestConnection(id.clone()))
            .await?
            .map_err(refused)?;
        r.ok(answer)
            .with("connection_id", &id)
            .with("healthy", &true)
    })
}

pub(super) async fn get_connections(
    deps: &SessionDeps,
    r: &Reply<'_>,
) -> Result<Response, Failure> {
    Ok({
        let list = ask(deps, &deps.connections, GetConnections).await?;
        r.ok(format!("{} connections", list.len()))
            .with("count", &list.len())
            .with("connections", &list)
    })
}
