package sana

/*
#include <stdlib.h>
#include <string.h>
#include <sana/sana.h>
*/
import "C"

import (
	"image"
	"image/draw"
	"runtime"
	"unsafe"
)

// SavePNG writes img as an 8-bit RGBA PNG with libsana's writer; `parameters` goes into a tEXt
// chunk named "parameters" (the generation settings). Same image and text, same bytes.
func SavePNG(path string, img image.Image, parameters string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	im, err := fromImage(img)
	if err != nil {
		return err
	}
	defer C.sana_image_free(im)
	cpath, cparams := C.CString(path), C.CString(parameters)
	defer C.free(unsafe.Pointer(cpath))
	defer C.free(unsafe.Pointer(cparams))
	return newError(C.sana_image_save_png(im, cpath, cparams), "sana_image_save_png", nil)
}

// fromImage copies img into a new RGBA sana_image (the caller frees it). Call it on a locked
// OS thread: its error text is the thread's.
func fromImage(img image.Image) (*C.sana_image, error) {
	b := img.Bounds()
	rgba, ok := img.(*image.RGBA)
	if !ok || b.Min != (image.Point{}) {
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	}
	var im *C.sana_image
	if err := newError(C.sana_image_create(C.uint32_t(b.Dx()), C.uint32_t(b.Dy()), 4, &im), "sana_image_create", nil); err != nil {
		return nil, err
	}
	stride := int(C.sana_image_stride(im))
	dst := unsafe.Slice((*byte)(unsafe.Pointer(C.sana_image_pixels(im))), stride*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		copy(dst[y*stride:y*stride+4*b.Dx()], rgba.Pix[y*rgba.Stride:])
	}
	return im, nil
}

// LoadPNG reads any PNG with libsana; it returns the pixels and the "parameters" text.
func LoadPNG(path string) (*image.RGBA, string, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var im *C.sana_image
	if err := newError(C.sana_image_load_png(cpath, &im), "sana_image_load_png", nil); err != nil {
		return nil, "", err
	}
	defer C.sana_image_free(im)
	return toRGBA(im), C.GoString(C.sana_image_parameters(im)), nil
}
