//! Small helpers the migrations share. They only build statements; what a migration
//! creates stays written out in the migration itself.

use sea_orm_migration::prelude::*;

/// Creates a plain (non-unique) index `name` on `table(cols...)`.
pub(crate) async fn index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(table).to_owned();
    for col in cols {
        index.col(*col);
    }
    manager.create_index(index).await
}
