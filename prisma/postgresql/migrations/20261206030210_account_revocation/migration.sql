-- AlterTable
ALTER TABLE "Account" ADD COLUMN     "sessionEpoch" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "AccountRevocation" (
    "id" SERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "address" TEXT NOT NULL,
    "reason" TEXT NOT NULL,

    CONSTRAINT "AccountRevocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AccountRevocation_at_idx" ON "AccountRevocation"("at");
