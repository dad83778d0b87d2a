-- CreateTable
CREATE TABLE "ImReadMarker" (
    "owner" TEXT NOT NULL,
    "peer" TEXT NOT NULL,
    "readUntil" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ImReadMarker_pkey" PRIMARY KEY ("owner","peer")
);
