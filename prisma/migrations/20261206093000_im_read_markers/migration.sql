-- CreateTable
CREATE TABLE "ImReadMarker" (
    "owner" TEXT NOT NULL,
    "peer" TEXT NOT NULL,
    "readUntil" DATETIME NOT NULL,

    PRIMARY KEY ("owner", "peer")
);
