; SPDX-License-Identifier: GPL-3.0-or-later
;
; Script-Fu half of the GIMP plug-in tests (run_gimp_tests.py runs it in
; gimp-console-3.0 with --batch-interpreter=plug-in-script-fu-eval).
;
; (fgsd-tests DATA OUT MODEL STEPS) calls every procedure with
; RUN-NONINTERACTIVE on the sample images in DATA, writes results to OUT
; (sf-*.png, checked by the runner: phi and unchanged sources) and reports
; each check as a message "CHECK ok|FAIL name detail".  Default Script-Fu
; dialect (v2): results come wrapped in lists; plug-ins take named arguments,
; gimp-* procedures positional ones.

(define fgsd-error "")

; Runs thunk; #t when it succeeded, else #f with the error text in fgsd-error.
(define (fgsd-try thunk)
  (let ((old *error-hook*))
    (set! fgsd-error "")
    (set! *error-hook*
          (lambda args
            (set! *error-hook* old)
            (set! fgsd-error (if (string? (car args)) (car args) "?"))
            (apply throw args)))
    (let ((r (catch #f (thunk) #t)))
      (set! *error-hook* old)
      r)))

(define (fgsd-check name ok detail)
  (gimp-message (string-append "CHECK " (if ok "ok " "FAIL ") name " " detail)))

(define (fgsd-contains? text part)
  (let ((n (string-length text)) (m (string-length part)))
    (let loop ((i 0))
      (cond ((> (+ i m) n) #f)
            ((string=? (substring text i (+ i m)) part) #t)
            (else (loop (+ i 1)))))))

(define (fgsd-layers image) (car (gimp-image-get-layers image)))
(define (fgsd-n-layers image) (vector-length (fgsd-layers image)))
(define (fgsd-num n) (number->string n))

(define (fgsd-load path) (car (gimp-file-load RUN-NONINTERACTIVE path)))

; Exports one layer alone (a copy in a new image) to path.
(define (fgsd-export-layer layer path)
  (let* ((w (car (gimp-drawable-get-width layer)))
         (h (car (gimp-drawable-get-height layer)))
         (image (car (gimp-image-new w h RGB)))
         (copy (car (gimp-layer-new-from-drawable layer image))))
    (gimp-image-insert-layer image copy 0 0)
    (gimp-layer-set-offsets copy 0 0)
    (gimp-file-save RUN-NONINTERACTIVE image path -1)
    (gimp-image-delete image)))

(define (fgsd-check-size name layer w h)
  (let ((lw (car (gimp-drawable-get-width layer)))
        (lh (car (gimp-drawable-get-height layer))))
    (fgsd-check name (and (= lw w) (= lh h))
                (string-append (fgsd-num lw) "x" (fgsd-num lh) ", want "
                               (fgsd-num w) "x" (fgsd-num h)))))

(define (fgsd-test-synthesize data out model steps)
  (let* ((image (fgsd-load (string-append data "/forest-floor.png")))
         (layer (vector-ref (fgsd-layers image) 0))
         (result #f))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 96 96)
    (fgsd-check "sf-synthesize-runs"
                (fgsd-try (lambda ()
                            (set! result
                                  (plug-in-fgsd-synthesize #:run-mode RUN-NONINTERACTIVE
                                                           #:image image
                                                           #:drawables (vector layer)
                                                           #:model model
                                                           #:width 64 #:height 48
                                                           #:seed 1234
                                                           #:step-size 0.3 #:beta 0.3
                                                           #:final-noise 0.05
                                                           #:max-steps steps))))
                fgsd-error)
    (when result
      (fgsd-check "sf-synthesize-layers" (= (fgsd-n-layers image) 2)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-check-size "sf-synthesize-size" (car result) 64 48)
      (fgsd-check "sf-synthesize-name"
                  (string=? (car (gimp-item-get-name (car result))) "Texture (seed 1234)")
                  (car (gimp-item-get-name (car result))))
      (fgsd-check "sf-synthesize-seed" (= (cadr result) 1234) (fgsd-num (cadr result)))
      (fgsd-check "sf-synthesize-on-top"
                  (= (car (gimp-image-get-item-position image (car result))) 0) "")
      (fgsd-export-layer (car result) (string-append out "/sf-synthesize.png"))
      (fgsd-export-layer layer (string-append out "/sf-synthesize-source.png")))
    (gimp-image-delete image)))

(define (fgsd-test-denoise data out model steps)
  (let* ((image (fgsd-load (string-append data "/forest-floor-noisy.png")))
         (noisy (vector-ref (fgsd-layers image) 0))
         (clean (car (gimp-file-load-layer RUN-NONINTERACTIVE image
                                           (string-append data "/forest-floor.png"))))
         (result #f))
    ; The clean layer goes below the noisy one; the reference is the
    ; selection on it, passed as reference-layer.
    (gimp-image-insert-layer image clean 0 1)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 96 96)
    (fgsd-check "sf-denoise-runs"
                (fgsd-try (lambda ()
                            (set! result
                                  (plug-in-fgsd-denoise #:run-mode RUN-NONINTERACTIVE
                                                        #:image image
                                                        #:drawables (vector noisy)
                                                        #:model model
                                                        #:reference-layer clean
                                                        #:seed 7
                                                        #:step-size 0.3 #:beta 0.3
                                                        #:final-noise 0.05
                                                        #:max-steps steps))))
                fgsd-error)
    (when result
      (fgsd-check "sf-denoise-layers" (= (fgsd-n-layers image) 3)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-check-size "sf-denoise-size" (car result) 192 192)
      (fgsd-check "sf-denoise-above-noisy"
                  (= (car (gimp-image-get-item-position image (car result)))
                     (- (car (gimp-image-get-item-position image noisy)) 1))
                  "")
      (fgsd-export-layer (car result) (string-append out "/sf-denoise.png"))
      (fgsd-export-layer noisy (string-append out "/sf-denoise-source.png")))
    (gimp-image-delete image)))

(define (fgsd-test-interpolate data out model steps)
  (let* ((image (fgsd-load (string-append data "/forest-floor.png")))
         (a (vector-ref (fgsd-layers image) 0))
         (b (car (gimp-file-load-layer RUN-NONINTERACTIVE image
                                       (string-append data "/bricks.png"))))
         (result #f))
    (gimp-image-insert-layer image b 0 1)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 96 96)
    (fgsd-check "sf-interpolate-runs"
                (fgsd-try (lambda ()
                            (set! result
                                  (plug-in-fgsd-interpolate #:run-mode RUN-NONINTERACTIVE
                                                            #:image image
                                                            #:drawables (vector a b)
                                                            #:model model
                                                            #:width 64 #:height 64
                                                            #:weight 0.5 #:seed 99
                                                            #:step-size 0.3 #:beta 0.3
                                                            #:final-noise 0.05
                                                            #:max-steps steps))))
                fgsd-error)
    (when result
      (fgsd-check "sf-interpolate-layers" (= (fgsd-n-layers image) 3)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-check-size "sf-interpolate-size" (car result) 64 64)
      (fgsd-export-layer (car result) (string-append out "/sf-interpolate.png"))
      (fgsd-export-layer a (string-append out "/sf-interpolate-source-a.png"))
      (fgsd-export-layer b (string-append out "/sf-interpolate-source-b.png")))
    (gimp-image-delete image)))

(define (fgsd-test-heal data out model steps)
  (let* ((image (fgsd-load (string-append data "/bricks.png")))
         (layer (vector-ref (fgsd-layers image) 0))
         (result #f))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 72 64 48 40)
    (fgsd-check "sf-heal-runs"
                (fgsd-try (lambda ()
                            (set! result
                                  (plug-in-fgsd-heal #:run-mode RUN-NONINTERACTIVE
                                                     #:image image
                                                     #:drawables (vector layer)
                                                     #:model model
                                                     #:band-width 24 #:seed 5
                                                     #:step-size 0.3 #:beta 0.3
                                                     #:final-noise 0.05
                                                     #:max-steps steps))))
                fgsd-error)
    (when result
      (fgsd-check "sf-heal-layers" (= (fgsd-n-layers image) 2)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-check "sf-heal-on-top"
                  (= (car (gimp-image-get-item-position image (car result))) 0) ""))
    (gimp-image-delete image)))

(define (fgsd-test-restyle data out model steps)
  (let* ((image (fgsd-load (string-append data "/forest-floor.png")))
         (layer (vector-ref (fgsd-layers image) 0))
         (result #f))
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 96 96)
    (fgsd-check "sf-restyle-runs"
                (fgsd-try (lambda ()
                            (set! result
                                  (plug-in-fgsd-restyle #:run-mode RUN-NONINTERACTIVE
                                                        #:image image
                                                        #:drawables (vector layer)
                                                        #:model model
                                                        #:strength 0.4 #:seed 5
                                                        #:step-size 0.3 #:beta 0.3
                                                        #:final-noise 0.05
                                                        #:max-steps steps))))
                fgsd-error)
    (when result
      (fgsd-check "sf-restyle-layers" (= (fgsd-n-layers image) 2)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-check-size "sf-restyle-size" (car result) 192 192))
    (gimp-image-delete image)))

; A bad call must fail with a message containing part and leave the image
; as it was (same layer count; the runner compares NAME-before.png and
; NAME-after.png).
(define (fgsd-expect-error name image layer part thunk out)
  (let ((before (fgsd-n-layers image)))
    (fgsd-export-layer layer (string-append out "/" name "-before.png"))
    (let ((ok (fgsd-try thunk)))
      (fgsd-check (string-append name "-fails") (not ok) fgsd-error)
      (fgsd-check (string-append name "-message") (fgsd-contains? fgsd-error part)
                  (string-append "want \"" part "\" in: " fgsd-error))
      (fgsd-check (string-append name "-layers") (= (fgsd-n-layers image) before)
                  (fgsd-num (fgsd-n-layers image)))
      (fgsd-export-layer layer (string-append out "/" name "-after.png")))))

(define (fgsd-synth-call image layer model)
  (lambda ()
    (plug-in-fgsd-synthesize #:run-mode RUN-NONINTERACTIVE #:image image
                             #:drawables (vector layer) #:model model
                             #:width 32 #:height 32 #:max-steps 2)))

(define (fgsd-test-errors data out model)
  (let* ((image (fgsd-load (string-append data "/forest-floor.png")))
         (layer (vector-ref (fgsd-layers image) 0)))
    (fgsd-expect-error "sf-no-selection" image layer "no selection"
                       (fgsd-synth-call image layer model) out)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 20 20)
    (fgsd-expect-error "sf-tiny-selection" image layer "too small"
                       (fgsd-synth-call image layer model) out)
    (gimp-image-select-rectangle image CHANNEL-OP-REPLACE 16 16 96 96)
    (fgsd-expect-error "sf-missing-model" image layer "missing"
                       (fgsd-synth-call image layer (string-append out "/no-such.fgsd")) out)
    (fgsd-expect-error "sf-corrupt-model" image layer "corrupt"
                       (fgsd-synth-call image layer (string-append out "/corrupt.fgsd")) out)
    ; Beyond the arguments' declared ranges: GIMP refuses the call itself.
    (fgsd-expect-error "sf-width-40000" image layer "out of range"
                       (lambda ()
                         (plug-in-fgsd-synthesize #:run-mode RUN-NONINTERACTIVE #:image image
                                                  #:drawables (vector layer) #:model model
                                                  #:width 40000 #:height 40000 #:max-steps 2))
                       out)
    (fgsd-expect-error "sf-step-size-2" image layer "out of range"
                       (lambda ()
                         (plug-in-fgsd-synthesize #:run-mode RUN-NONINTERACTIVE #:image image
                                                  #:drawables (vector layer) #:model model
                                                  #:width 32 #:height 32 #:step-size 2.0
                                                  #:max-steps 2))
                       out)
    (fgsd-expect-error "sf-missing-guide-model" image layer "guide model"
                       (lambda ()
                         (plug-in-fgsd-synthesize #:run-mode RUN-NONINTERACTIVE #:image image
                                                  #:drawables (vector layer) #:model model
                                                  #:width 32 #:height 32 #:max-steps 2
                                                  #:guidance 1.25
                                                  #:guide-model
                                                  (string-append out "/no-such-guide.fgsd")))
                       out)
    (fgsd-expect-error "sf-one-layer-interpolate" image layer "two layers"
                       (lambda ()
                         (plug-in-fgsd-interpolate #:run-mode RUN-NONINTERACTIVE
                                                   #:image image #:drawables (vector layer)
                                                   #:model model #:max-steps 2))
                       out)
    (gimp-image-convert-indexed image CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 16
                                FALSE FALSE "")
    (fgsd-expect-error "sf-indexed" image layer "Indexed"
                       (fgsd-synth-call image layer model) out)
    (gimp-image-delete image)))

(define (fgsd-tests data out model steps)
  (fgsd-test-synthesize data out model steps)
  (fgsd-test-denoise data out model steps)
  (fgsd-test-interpolate data out model steps)
  (fgsd-test-heal data out model steps)
  (fgsd-test-restyle data out model steps)
  (fgsd-test-errors data out model)
  (gimp-message "CHECK done script-fu"))
