-- CreateTable
CREATE TABLE "VirtualPresentity" (
    "id" SERIAL NOT NULL,
    "address" TEXT NOT NULL,
    "domain" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "VirtualPresentity_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "VirtualPresentity_address_key" ON "VirtualPresentity"("address");

-- CreateIndex
CREATE INDEX "VirtualPresentity_domain_idx" ON "VirtualPresentity"("domain");
