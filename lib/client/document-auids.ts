/** The documents behind the buddy list: contacts and groups, the presence list, the rules (xcap-diff AUIDs the list follows). */
import { AUID } from "../xcap/addressbook/model";

export const ADDRESS_BOOK_AUIDS: readonly string[] = [AUID.resourceLists, AUID.rlsServices, AUID.presRules, AUID.ietfPresRules];
