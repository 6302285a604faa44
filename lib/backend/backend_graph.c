/* Wrappers of the optional graph and memory hooks (issue 8): on a backend without them a graph
 * run is a plain call. See backend.h for the contract of sn_graph_run. */
#include "backend/backend.h"
#include "core/log.h"

sana_status sn_graph_run(sn_backend *be, sn_graph **graph, sn_graph_fn fn, void *user) {
    if (!be || !graph || !fn) return sn_fail(SANA_ERR_INTERNAL, "graph run: missing argument");
    if (!be->ops->graph_begin) return fn(user);
    /* at most two rounds: a dry run that differs from the capture is followed by a new capture */
    for (int round = 0; round < 2; round++) {
        if (be->ops->graph_begin(be, graph) != SANA_OK) { /* e.g. the stream cannot capture now */
            sn_log(SANA_LOG_WARN, "graph run: %s; running this call without a graph", sn_error_text());
            sn_error_clear();
            return fn(user);
        }
        sana_status st = fn(user);
        int launchable = 0;
        sana_status end = be->ops->graph_end(be, *graph, st, &launchable);
        SN_TRY(st);
        if (end != SANA_OK) {
            /* fn ran fine but the capture around it failed (on a GPU: invalidated by another
             * thread's synchronising call such as a cudaFree, or no memory for the graph). The
             * captured ops never ran, so run them plainly this once; the next call captures again. */
            sn_log(SANA_LOG_WARN, "graph run: %s; running this call without a graph", sn_error_text());
            sn_error_clear();
            return fn(user);
        }
        if (launchable) return be->ops->graph_launch(be, *graph);
    }
    return sn_fail(SANA_ERR_INTERNAL, "graph run: a fresh capture could not be launched");
}

void sn_graph_free(sn_backend *be, sn_graph *graph) {
    if (be && graph && be->ops->graph_free) be->ops->graph_free(be, graph);
}

sana_status sn_backend_sync(sn_backend *be) { return be->ops->synchronize(be); }

sana_status sn_backend_memory(sn_backend *be, size_t *in_use, size_t *peak) {
    if (!be->ops->memory)
        return sn_fail(SANA_ERR_UNSUPPORTED, "%s backend: no device memory counters", be->ops->name);
    return be->ops->memory(be, in_use, peak);
}
