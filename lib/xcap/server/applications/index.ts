/** The application usages Herald's XCAP server registers by default. */
import type { ApplicationUsage } from "../application-usage";
import { resourceListsApplication } from "./resource-lists";
import { rlsServicesApplication } from "./rls-services";
import { omaPresRulesApplication, presRulesApplication } from "./pres-rules";
import { pidfManipulationApplication } from "./pidf-manipulation";
import { presContentApplication } from "./pres-content";
import { xcapCapsApplication } from "./xcap-caps";
import { xcapDirectoryApplication } from "./xcap-directory";
import { imRulesApplication } from "./im-rules";

export const DEFAULT_APPLICATIONS: readonly ApplicationUsage[] = [
  xcapCapsApplication,
  resourceListsApplication,
  rlsServicesApplication,
  presRulesApplication,
  omaPresRulesApplication,
  pidfManipulationApplication,
  xcapDirectoryApplication,
  presContentApplication,
  imRulesApplication,
];

export {
  resourceListsApplication,
  rlsServicesApplication,
  presRulesApplication,
  omaPresRulesApplication,
  pidfManipulationApplication,
  presContentApplication,
  xcapCapsApplication,
  xcapDirectoryApplication,
  imRulesApplication,
};
