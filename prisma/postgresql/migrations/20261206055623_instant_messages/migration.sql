-- CreateTable
CREATE TABLE "InstantMessage" (
    "id" SERIAL NOT NULL,
    "sender" TEXT NOT NULL,
    "recipient" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "date" TIMESTAMP(3) NOT NULL,
    "pending" BOOLEAN NOT NULL DEFAULT false,
    "history" BOOLEAN NOT NULL DEFAULT true,
    "messageId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InstantMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "InstantMessage_recipient_pending_idx" ON "InstantMessage"("recipient", "pending");

-- CreateIndex
CREATE INDEX "InstantMessage_sender_recipient_date_idx" ON "InstantMessage"("sender", "recipient", "date");

-- CreateIndex
CREATE INDEX "InstantMessage_date_idx" ON "InstantMessage"("date");
