-- CreateTable
CREATE TABLE "VirtualPresentity" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "address" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "VirtualPresentity_address_key" ON "VirtualPresentity"("address");

-- CreateIndex
CREATE INDEX "VirtualPresentity_domain_idx" ON "VirtualPresentity"("domain");
