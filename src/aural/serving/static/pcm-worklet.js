// AudioWorklet processor: hands each block of microphone samples (mono float32) to the
// page, which converts them to 16-bit PCM and streams them over the WebSocket.
class PcmCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0 && input[0].length > 0) {
      // copy: the engine reuses its buffers after process() returns
      this.port.postMessage(new Float32Array(input[0]));
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
