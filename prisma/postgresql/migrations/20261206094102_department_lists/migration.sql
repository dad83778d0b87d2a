-- CreateTable
CREATE TABLE "DepartmentList" (
    "id" SERIAL NOT NULL,
    "address" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "displayName" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DepartmentList_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DepartmentListMember" (
    "id" SERIAL NOT NULL,
    "listId" INTEGER NOT NULL,
    "uri" TEXT NOT NULL,
    "displayName" TEXT,
    "position" INTEGER NOT NULL,

    CONSTRAINT "DepartmentListMember_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DepartmentList_address_key" ON "DepartmentList"("address");

-- CreateIndex
CREATE INDEX "DepartmentList_domain_idx" ON "DepartmentList"("domain");

-- CreateIndex
CREATE UNIQUE INDEX "DepartmentListMember_listId_uri_key" ON "DepartmentListMember"("listId", "uri");

-- AddForeignKey
ALTER TABLE "DepartmentListMember" ADD CONSTRAINT "DepartmentListMember_listId_fkey" FOREIGN KEY ("listId") REFERENCES "DepartmentList"("id") ON DELETE CASCADE ON UPDATE CASCADE;
