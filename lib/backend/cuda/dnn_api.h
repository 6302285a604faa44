/* The cuDNN functions the CUDA backend calls, as pointers resolved at run time (dnn_lib.c), typed
 * from the cuDNN headers this build found. Only for builds with SANA_HAVE_CUDNN. */
#ifndef SN_BACKEND_CUDA_DNN_API_H
#define SN_BACKEND_CUDA_DNN_API_H

#include <cudnn.h>

/* the legacy (v7-style) convolution API: a handle, 4-D descriptors, one forward call */
#define SN_CUDNN_FUNCTIONS(X)                                                                      \
    X(cudnnGetVersion)                                                                             \
    X(cudnnGetCudartVersion)                                                                       \
    X(cudnnGetErrorString)                                                                         \
    X(cudnnCreate)                                                                                 \
    X(cudnnDestroy)                                                                                \
    X(cudnnSetStream)                                                                              \
    X(cudnnCreateTensorDescriptor)                                                                 \
    X(cudnnSetTensor4dDescriptorEx)                                                                \
    X(cudnnDestroyTensorDescriptor)                                                                \
    X(cudnnCreateFilterDescriptor)                                                                 \
    X(cudnnSetFilter4dDescriptor)                                                                  \
    X(cudnnDestroyFilterDescriptor)                                                                \
    X(cudnnCreateConvolutionDescriptor)                                                            \
    X(cudnnSetConvolution2dDescriptor)                                                             \
    X(cudnnSetConvolutionGroupCount)                                                               \
    X(cudnnSetConvolutionMathType)                                                                 \
    X(cudnnDestroyConvolutionDescriptor)                                                           \
    X(cudnnGetConvolution2dForwardOutputDim)                                                       \
    X(cudnnGetConvolutionForwardAlgorithm_v7)                                                      \
    X(cudnnGetConvolutionForwardWorkspaceSize)                                                     \
    X(cudnnConvolutionForward)

typedef struct sn_cudnn_lib {
    void *handle; /* dlopen's */
    size_t version;
#define SN_CUDNN_MEMBER(name) __typeof__(name) *name;
    SN_CUDNN_FUNCTIONS(SN_CUDNN_MEMBER)
#undef SN_CUDNN_MEMBER
} sn_cudnn_lib;

/* The process-wide library (opened once, never closed), or NULL when it cannot be used (the
 * reason was logged once at info level). */
const sn_cudnn_lib *sn_cudnn_lib_get(void);

#endif
