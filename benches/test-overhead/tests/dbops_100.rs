//! 100 `#[dbops::test]`s: each gets a fresh clone of the migrated reference schema.
//! Written out one by one: `sqlx::test` resolves its paths from the calling file, which a
//! `macro_rules!` repetition hides, so every file lists its tests the same way.

#[dbops::test(migrations = "../../migrations")]
async fn t000(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t001(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t002(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t003(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t004(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t005(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t006(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t007(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t008(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t009(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t010(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t011(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t012(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t013(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t014(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t015(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t016(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t017(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t018(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t019(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t020(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t021(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t022(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t023(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t024(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t025(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t026(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t027(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t028(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t029(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t030(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t031(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t032(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t033(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t034(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t035(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t036(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t037(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t038(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t039(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t040(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t041(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t042(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t043(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t044(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t045(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t046(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t047(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t048(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t049(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t050(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t051(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t052(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t053(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t054(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t055(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t056(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t057(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t058(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t059(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t060(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t061(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t062(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t063(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t064(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t065(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t066(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t067(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t068(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t069(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t070(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t071(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t072(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t073(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t074(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t075(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t076(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t077(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t078(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t079(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t080(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t081(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t082(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t083(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t084(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t085(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t086(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t087(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t088(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t089(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t090(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t091(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t092(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t093(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t094(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t095(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t096(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t097(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t098(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}

#[dbops::test(migrations = "../../migrations")]
async fn t099(client: tokio_postgres::Client) {
    let users: i64 = client
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 0);
}
