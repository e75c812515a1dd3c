// notification-service's own MongoDB user: read and write in its database, nothing else (no
// other database, no user administration). The mongo image runs this once, on an empty data
// directory, as the root user of mongodb-secret (mongosh against MONGO_INITDB_DATABASE); the
// container's postStart hook runs it again on every start (a data directory made before the
// user existed, a changed password), so it makes the user or sets it to what it must be.
// The user lives in the admin database, as the root user does, so the service authenticates
// with authSource=admin online and offline (FerretDB makes its one user there).
const admin = db.getSiblingDB("admin");
const user = process.env.APP_DB_USER;
const pwd = process.env.APP_DB_PASSWORD;
const database = process.env.MONGO_INITDB_DATABASE;
if (!user || !pwd || !database) {
  throw new Error("app-user.js: APP_DB_USER, APP_DB_PASSWORD and MONGO_INITDB_DATABASE must be set");
}
const roles = [{ role: "readWrite", db: database }];
if (admin.getUser(user) === null) {
  admin.createUser({ user, pwd, roles });
} else {
  admin.updateUser(user, { pwd, roles });
}
print(`app-user.js: user ${user} may read and write ${database} alone`);
