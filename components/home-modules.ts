/**
 * The buddy list's client modules, loaded by the login page while the user types (see LoginForm):
 * after "Sign in" the home page's JavaScript (JsSIP, the XML parser, the list) is already fetched
 * and evaluated, so the list renders and the SIP client starts one download and ~150 ms of
 * module evaluation sooner. Importing is all this module does.
 */
import "./buddy-list/buddy-list";
import "./buddy-list/my-status-bar";
import "./buddy-list/department-lists-card";
import "./chat/chat-context";
import "./presence/connection-banner";
import "./presence/presence-client-context";
