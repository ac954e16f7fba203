/** One problem found while validating a document, at a field path such as `spec.packages[1].after[0]`. */
export interface FieldIssue {
  path: string;
  message: string;
}
