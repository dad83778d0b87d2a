-- CreateTable
CREATE TABLE "DepartmentList" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "address" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "displayName" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DepartmentListMember" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "listId" INTEGER NOT NULL,
    "uri" TEXT NOT NULL,
    "displayName" TEXT,
    "position" INTEGER NOT NULL,
    CONSTRAINT "DepartmentListMember_listId_fkey" FOREIGN KEY ("listId") REFERENCES "DepartmentList" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "DepartmentList_address_key" ON "DepartmentList"("address");

-- CreateIndex
CREATE INDEX "DepartmentList_domain_idx" ON "DepartmentList"("domain");

-- CreateIndex
CREATE UNIQUE INDEX "DepartmentListMember_listId_uri_key" ON "DepartmentListMember"("listId", "uri");
