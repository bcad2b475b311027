/*
 * faults: send ops that fail on demand, for tests/e2e/worker_faults.sh.
 * Only tests/logshipd_faults (main.c built with -DLS_FAULTS) has them;
 * the daemon never does.
 *
 *   LS_FAULT_WORKER=name  destination name's workers cannot be made (as
 *                         when curl_easy_init fails)
 *   LS_FAULT_SEND=name    every batch of destination name meets an
 *                         internal error (as when compression fails)
 *
 * Both are read when a destination instance is made (start, reload).
 */
#ifndef LS_FAULTS_H
#define LS_FAULTS_H

#include "pipeline.h"

/* The HTTP sender's ops with the faults the environment asks for. */
const struct ls_send_ops *ls_fault_send_ops(void);

#endif
