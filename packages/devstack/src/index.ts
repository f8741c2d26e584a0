export {
  DEV_ISSUER,
  type DevTokenIssuer,
  type DevTokenRequest,
  devTokenIssuerFromKey,
  openDevTokenIssuer,
} from "./dev-token-issuer.ts";
