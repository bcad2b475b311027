/*
 * status_cmd: "logshipd status [-c file] [-u url]", the command that asks
 * a running logshipd for its /status document and prints it as the table
 * SIGUSR1 logs.
 *
 * It reads only metrics.listen from the configuration, through the
 * daemon's own reader (ls_conf_load_listen), not the whole file: an
 * operator's shell need not be able to read the API key file, nor have
 * the key's environment variable set.
 */
#ifndef LS_STATUS_CMD_H
#define LS_STATUS_CMD_H

/* Runs the command on argv[0] == "status" ...; returns the exit status:
 * 0, 1 when logshipd cannot be reached or answers nonsense, 64 for a usage
 * error, 78 when the configuration cannot be read. */
int ls_statuscmd(int argc, char *argv[]);

#endif
