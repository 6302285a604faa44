/* The diffusers folder layout: a pipeline folder with model_index.json naming its components
 * (tokenizer/, text_encoder/, transformer/, vae/, scheduler/), or a single component folder. */
#ifndef SN_IO_PIPELINE_DIR_H
#define SN_IO_PIPELINE_DIR_H

#include <stddef.h>

#include "core/error.h"

typedef struct sn_pipeline_dir sn_pipeline_dir;

/* Opens `path`. A folder with model_index.json is a pipeline; a folder with only config.json
 * is a single component (its `_class_name` says which; a transformers config.json is a text
 * encoder), as is one with scheduler_config.json or tokenizer.json. Missing folder, or a
 * component listed in model_index.json whose folder is missing: SANA_ERR_NOT_FOUND naming it.
 * Corrupt or wrong-typed model_index.json: SANA_ERR_FORMAT. */
sana_status sn_pipeline_dir_open(const char *path, sn_pipeline_dir **out);
void sn_pipeline_dir_close(sn_pipeline_dir *d);

/* "SanaPipeline", "SanaSprintPipeline", or for a single component its class
 * ("SanaTransformer2DModel", "AutoencoderDC", ...). */
const char *sn_pipeline_dir_class(const sn_pipeline_dir *d);
int sn_pipeline_dir_is_single(const sn_pipeline_dir *d);
/* Folder of component `name` ("transformer", "vae", ...), or NULL when the pipeline has none
 * (listed components are checked to exist at open). For a single-component folder, the folder
 * itself for its own kind ("transformer", "vae", "text_encoder", "scheduler", "tokenizer"). */
const char *sn_pipeline_dir_component(const sn_pipeline_dir *d, const char *name);
/* The class model_index.json gives a component ("Gemma2Model", ...), or NULL. */
const char *sn_pipeline_dir_component_class(const sn_pipeline_dir *d, const char *name);

/* The folder as opened (without trailing '/'). */
const char *sn_pipeline_dir_path(const sn_pipeline_dir *d);
/* The components present, in model_index.json order: names for i < count. */
size_t sn_pipeline_dir_count(const sn_pipeline_dir *d);
const char *sn_pipeline_dir_name_at(const sn_pipeline_dir *d, size_t i);

#endif
