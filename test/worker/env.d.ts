declare module 'cloudflare:test' {
  interface ProvidedEnv {}
}
