// For other packages' tests: scratch databases on each lane and the two-org fixture.
export { bareDatabase, type LaneName, migratedDatabase, type ScratchDatabase, testLanes } from "./test-databases.ts";
export { adminOf, type FixtureIds, insertTwoOrgFixture, memberOf, ORG_A, ORG_B } from "./test-fixture.ts";
